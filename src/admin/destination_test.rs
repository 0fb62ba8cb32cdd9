//! `POST /v1/destinations/{id}/test` and `GET /v1/notifications/{id}`, as Event Notifications'
//! destination test: a test notification goes to the destination at once, through its real
//! notifier (the channel's default rendering; signed when the destination has signing keys or
//! secrets), and its status is read back by id: `inprogress`, then `success` or `failure` with the
//! receiver's HTTP status or SMTP code.
//!
//! One attempt, no retries, on a lane of its own: a test never waits behind deliveries, nor opens
//! or closes the destination's circuit. Emails go to the recipients of the destination's
//! subscriptions, Slack bot posts to their channels. Statuses are kept in memory, per process,
//! for the last [`KEPT`] tests.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::{AdminState, error, not_found};
use crate::channels::Parcel;
use crate::dispatch::lanes::Lanes;
use crate::dispatch::{RetryPolicy, deliver};
use crate::routing::delivery_id;

/// How many test statuses are kept; the oldest is forgotten first.
pub(super) const KEPT: usize = 1_000;

/// The `type` of a test notification.
pub(super) const TEST_TYPE: &str = "com.notification-router.destination:test";

/// Where a test stands, as `GET /v1/notifications/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestStatus {
    pub id: String,
    pub destination_id: String,
    /// `inprogress`, `success` or `failure`.
    pub status: &'static str,
    /// The receiver's HTTP status or the SMTP server's code, once it answered.
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

/// The statuses of the last [`KEPT`] destination tests of this process.
#[derive(Debug, Default)]
pub struct TestStatuses {
    book: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    order: VecDeque<String>,
    statuses: HashMap<String, TestStatus>,
}

impl TestStatuses {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a test as in progress, forgetting the oldest beyond [`KEPT`].
    pub fn start(&self, id: &str, destination_id: &str) {
        let mut book = self.book();
        while book.order.len() >= KEPT {
            if let Some(oldest) = book.order.pop_front() {
                book.statuses.remove(&oldest);
            }
        }
        book.order.push_back(id.to_owned());
        let status = TestStatus {
            id: id.to_owned(),
            destination_id: destination_id.to_owned(),
            status: "inprogress",
            status_code: None,
            error: None,
        };
        book.statuses.insert(id.to_owned(), status);
    }

    /// Records how a test ended, unless it has been forgotten meanwhile.
    pub fn finish(&self, id: &str, status_code: Option<u16>, error: Option<String>) {
        if let Some(status) = self.book().statuses.get_mut(id) {
            status.status = if error.is_none() {
                "success"
            } else {
                "failure"
            };
            status.status_code = status_code;
            status.error = error;
        }
    }

    pub fn get(&self, id: &str) -> Option<TestStatus> {
        self.book().statuses.get(id).cloned()
    }
}

pub(super) async fn test_destination(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> Response {
    let config = state.config();
    let table = &config.table;
    let Some(index) = table.destinations().iter().position(|d| d.id == id) else {
        return not_found("destination", &id);
    };
    let destination = config.policies[index].clone();
    let channel = config.destinations.get(index);
    if let Some(why) = channel.nobody_to_test() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "nobody_to_notify", &why);
    }
    let Some(outlets) = &state.outlets else {
        return super::unavailable("this admin server has no HTTP client for deliveries");
    };
    let target = match channel.test_target(&outlets.client) {
        Ok(target) => target,
        Err(why) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unusable_destination",
                &why.to_string(),
            );
        }
    };
    let notification_id = uuid::Uuid::new_v4().to_string();
    let notification = test_notification(&id, &notification_id);
    let message = match target.render(&config.templates, &notification) {
        Ok(message) => message,
        Err(problem) => {
            let why = problem.to_string();
            return error(StatusCode::INTERNAL_SERVER_ERROR, "render_failed", &why);
        }
    };
    state.tests.start(&notification_id, &id);
    info!(message = "Destination test sent.", notification_id = %notification_id, destination = %id);
    let policy = RetryPolicy {
        retries: 0,
        ..destination.retry.clone()
    };
    let lanes = Lanes::new(std::slice::from_ref(&destination));
    let answer = Json(json!({"notification_id": notification_id}));
    let state = state.clone();
    tokio::spawn(async move {
        let delivery = delivery_id(&notification_id, target.name());
        let parcel = Parcel {
            notification_id: &notification_id,
            delivery_id: &delivery,
            pending: None,
        };
        let (outcome, _) = deliver(&message, parcel, &policy, lanes.get(0)).await;
        let (status_code, problem) = match outcome.result {
            Ok(delivered) if outcome.refused.is_empty() => (Some(delivered.status), None),
            Ok(delivered) => {
                let refused: Vec<String> = outcome
                    .refused
                    .iter()
                    .map(|(who, why)| format!("{who}: {why}"))
                    .collect();
                (Some(delivered.status), Some(refused.join("; ")))
            }
            Err(failed) => (failed.status, Some(failed.message)),
        };
        match &problem {
            None => {
                info!(message = "Destination test delivered.", notification_id = %notification_id, destination = %destination.id, status = status_code)
            }
            Some(problem) => {
                warn!(message = "Destination test failed.", notification_id = %notification_id, destination = %destination.id, status = status_code, error = %problem)
            }
        }
        state.tests.finish(&notification_id, status_code, problem);
    });
    (StatusCode::ACCEPTED, answer).into_response()
}

/// A test notification, shaped as every notification is.
fn test_notification(destination_id: &str, notification_id: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": notification_id,
        "source": format!("/notification-router/destinations/{destination_id}"),
        "type": TEST_TYPE,
        "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "datacontenttype": "application/json",
        "ibmensourceid": "notification-router",
        "ibmenseverity": "LOW",
        "ibmendefaultshort": format!("Test notification for destination {destination_id}"),
        "ibmendefaultlong": format!("This test notification was sent to destination {destination_id} from the router's admin API. If you can read it, the destination works."),
        "notification_id": notification_id,
        "data": {"destination_id": destination_id, "test": true},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_bounded_and_finished_in_place() {
        let statuses = TestStatuses::default();
        for i in 0..=KEPT {
            statuses.start(&format!("t-{i}"), "hook");
        }
        assert_eq!(statuses.get("t-0"), None, "the oldest is forgotten");
        assert_eq!(statuses.get("t-1").map(|s| s.status), Some("inprogress"));
        statuses.finish("t-1", Some(500), Some("server error".into()));
        statuses.finish("t-2", Some(200), None);
        statuses.finish("t-0", Some(200), None);
        let failed = statuses.get("t-1").expect("kept");
        assert_eq!((failed.status, failed.status_code), ("failure", Some(500)));
        assert_eq!(statuses.get("t-2").map(|s| s.status), Some("success"));
        assert_eq!(statuses.get("t-0"), None, "a forgotten test is not revived");
        assert_eq!(statuses.book().statuses.len(), KEPT);
    }
}
