//! Sending one digest: its seal record, one job carrying its notifications (attempted,
//! retried and dead-lettered as any delivery), then its sent record.

use std::sync::Arc;

use chrono::Utc;
use tracing::info;

use super::groups::Batch;
use super::record::{Seal, Sent};
use super::{Done, Finished, Kind, State};
use crate::dispatch::{Job, Member, Settled};
use crate::render::digest_context;

impl State {
    /// Sends `batch` in a task of its own; its outcome comes back as a [`Done`].
    pub(super) fn spawn(&mut self, batch: Batch) {
        self.sending += batch.members.len();
        let first = &batch.members[0].ticket;
        let working = self
            .busy
            .lock()
            .begin(&first.topic, first.partition, first.offset);
        let (deliverer, busy, done, shutdown) = (
            self.deliverer.clone(),
            self.busy.clone(),
            self.done.clone(),
            self.shutdown.clone(),
        );
        self.tasks.spawn(async move {
            let writer = deliverer.writer();
            let upto = batch.upto();
            let mut sent_at = None;
            let sealed = batch.sealed || {
                let seal = Seal {
                    id: batch.id.clone(),
                    upto,
                };
                let value = serde_json::to_vec(&seal).expect("a seal serialises");
                writer.digest_mark(&batch.group_id.1, batch.group_id.0, Kind::Seal, &value, &shutdown).await
            };
            if sealed {
                let mut job = digest_job(&batch);
                let count = batch.members.len();
                let snapshot = deliverer.snapshot();
                let attempt = snapshot.attempt(&mut job, true).await;
                let next = snapshot.next(job, attempt);
                if deliverer.settle(next, &shutdown).await != Settled::Unsettled {
                    let at = Utc::now();
                    let sent = Sent {
                        id: batch.id.clone(),
                        upto,
                        at,
                    };
                    let value = serde_json::to_vec(&sent).expect("a sent record serialises");
                    if writer.digest_mark(&batch.group_id.1, batch.group_id.0, Kind::Sent, &value, &shutdown).await {
                        info!(message = "Digest sent.", webhook_id = %batch.id, subscription = %batch.subscription, notifications = count);
                        sent_at = Some(at);
                    }
                }
            }
            busy.finish(&working, |_| {});
            let _ = done.send(Finished::Digest(Done {
                group_id: batch.group_id,
                id: batch.id,
                sent_at,
                members: batch.members.into_iter().map(|m| m.ticket).collect(),
            }));
        });
    }
}

/// The job of a digest: its notifications in its context, under its id, carrying its members.
fn digest_job(batch: &Batch) -> Job {
    let first = &batch.members[0].entry.job;
    let notifications = batch
        .members
        .iter()
        .map(|m| m.entry.job.notification.as_ref().clone())
        .collect();
    let context = digest_context(notifications, batch.group.clone());
    let members = batch
        .members
        .iter()
        .map(|m| Member {
            webhook_id: m.entry.job.webhook_id.clone(),
            notification_id: m.entry.job.notification_id.clone(),
            source_id: m.entry.job.source_id.clone(),
            origin: m.entry.job.origin.clone(),
        })
        .collect();
    let now = Utc::now();
    Job {
        webhook_id: batch.id.clone(),
        notification_id: batch.id.clone(),
        notification: Arc::new(context),
        attempts: 0,
        long_retries: 0,
        due: now,
        started_at: now,
        first_attempt_at: None,
        last_attempt_at: None,
        last_status: None,
        last_error: None,
        pending: None,
        refused: Vec::new(),
        history: Vec::new(),
        digest: Some(members),
        ..first.clone()
    }
}
