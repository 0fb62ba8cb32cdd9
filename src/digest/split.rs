//! A digest too large for the retry topic, split in two: each half carries its members and
//! their notifications under an id of its own, so both wait for their next attempt side by
//! side and a receiver deduplicating on `webhook-id` keeps both.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::DIGEST_ID_NAMESPACE;
use crate::dispatch::Job;
use crate::render::{digest_context, digest_notifications};

/// `job`, a digest of two members or more, as two digests of half its members each; `None`
/// for a digest of one member or a job that is no digest.
pub(crate) fn halves(job: &Job) -> Option<[Job; 2]> {
    let members = job.digest.as_ref()?;
    let notifications = digest_notifications(&job.notification);
    if members.len() < 2 || notifications.len() != members.len() {
        return None;
    }
    let group = job
        .notification
        .get("group")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    let middle = members.len() / 2;
    let part = |range: std::ops::Range<usize>| {
        let members = members[range.clone()].to_vec();
        let context = digest_context(notifications[range].to_vec(), group.clone());
        let id = part_id(
            &job.webhook_id,
            members.iter().map(|m| m.webhook_id.as_str()),
        );
        Job {
            webhook_id: id.clone(),
            notification_id: id,
            notification: Arc::new(context),
            digest: Some(members),
            ..job.clone()
        }
    };
    Some([part(0..middle), part(middle..members.len())])
}

/// The id of the part of digest `id` with the members of `webhook_ids`: the same whenever that
/// digest is split the same way.
fn part_id<'a>(id: &str, webhook_ids: impl Iterator<Item = &'a str>) -> String {
    let mut name = id.to_owned();
    for webhook_id in webhook_ids {
        name.push('\n');
        name.push_str(webhook_id);
    }
    format!(
        "dig_{}",
        uuid::Uuid::new_v5(&DIGEST_ID_NAMESPACE, name.as_bytes()).simple()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dispatch::{Member, Origin};
    use crate::event::Notification;

    fn digest_of(count: usize) -> Job {
        let notification = Notification {
            id: "n".into(),
            source_id: "lifecycle".into(),
            event_type: "t".into(),
            body: json!({}),
        };
        let origin = |offset| Origin {
            topic: "lifecycle".into(),
            partition: 0,
            offset,
        };
        let notifications = (0..count).map(|i| json!({"i": i})).collect();
        let context = digest_context(notifications, Map::from_iter([("g".into(), json!("x"))]));
        let mut job = Job::new(
            &notification,
            Arc::new(context),
            "sub",
            "hook",
            "dig_whole",
            origin(0),
        );
        job.digest = Some(
            (0..count)
                .map(|i| Member {
                    webhook_id: format!("msg_{i}"),
                    notification_id: format!("n-{i}"),
                    source_id: "lifecycle".into(),
                    origin: origin(i64::try_from(i).expect("small")),
                })
                .collect(),
        );
        job.attempts = 3;
        job
    }

    #[test]
    fn each_half_carries_its_members_and_their_notifications_under_an_id_of_its_own() {
        let job = digest_of(5);
        let [first, second] = halves(&job).expect("five members split");
        for (part, expected) in [(&first, 0..2), (&second, 2..5)] {
            let members: Vec<&str> = part
                .digest
                .as_ref()
                .expect("a digest")
                .iter()
                .map(|m| m.notification_id.as_str())
                .collect();
            let wanted: Vec<String> = expected.clone().map(|i| format!("n-{i}")).collect();
            assert_eq!(members, wanted);
            let shown: Vec<Value> = digest_notifications(&part.notification).to_vec();
            assert_eq!(shown, expected.map(|i| json!({"i": i})).collect::<Vec<_>>());
            assert_eq!(part.notification["count"], shown.len());
            assert_eq!(part.notification["group"], json!({"g": "x"}));
            assert_eq!(part.webhook_id, part.notification_id);
            assert_ne!(part.webhook_id, job.webhook_id);
            assert!(part.webhook_id.starts_with("dig_"));
            assert_eq!((part.attempts, part.subscription.as_str()), (3, "sub"));
        }
        assert_ne!(first.webhook_id, second.webhook_id);
        let [again, _] = halves(&job).expect("split again");
        assert_eq!(
            again.webhook_id, first.webhook_id,
            "the same split, the same id"
        );
    }

    #[test]
    fn a_digest_of_one_or_a_single_delivery_is_not_split() {
        assert!(halves(&digest_of(1)).is_none());
        let mut single = digest_of(2);
        single.digest = None;
        assert!(halves(&single).is_none());
    }
}
