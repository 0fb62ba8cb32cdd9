//! One delivery from its attempts to its settlement: delivered, handed to the retry topic for a
//! later attempt, written to the dead-letter topic with the reason, or, for a subscription with
//! a digest, written to the digest topic to be sent with its group.
//!
//! The same [`Deliverer`] serves the deliveries of fresh records (with the destination's
//! in-process retries) and those read back from the retry topic (one attempt each, on the long
//! schedule). Each attempt is made through one [`Snapshot`] of the configuration: a fresh
//! record's deliveries through the snapshot its routing used, a retry through the one current
//! when it is attempted (its subscription, template and destination looked up again). The
//! `webhook-id` never changes.

mod attempts;
mod decide;
mod fleet;
mod gate;
mod job;
pub(crate) mod lanes;
mod policy;
mod settle;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{Notify, SemaphorePermit};
use tracing::{info, warn};

pub(crate) use attempts::{NextRetry, RetryPolicy, deliver_with_retries};
pub(crate) use job::{AttemptLog, Job, Member, Origin, Refused};
pub(crate) use policy::DeliveryPolicy;
pub(crate) use settle::{MAX_DETAIL, Settled, Writer};

use crate::channels::{Message, Outcome, Parcel, SharedJson, Target, TargetError};
use crate::config::Config;
use crate::control::Control;
use crate::dead_letter::DeadLetterReason;
use crate::ledger::{self, Ledger};
use crate::routing::RoutingTable;
use crate::silence::Silences;
use decide::{Now, Step, conclude, decide, disables, muted};
use gate::Gate;
use lanes::{Lane, Lanes, Place};

/// What one turn of attempts came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Every recipient has it.
    Delivered,
    /// Not attempted: the destination's circuit is open or its queue is full. Try at `until`.
    Deferred { until: Instant },
    /// Failed in a way that may pass; the destination may have asked for a delay.
    Retry { retry_after: Option<Duration> },
    /// Nothing more to try.
    DeadLetter(DeadLetterReason),
    /// Not sent: its subscription is paused (through the control topic).
    Paused,
    /// Not attempted: the subscription is in a mute window. Dropped, or held until `until`.
    Muted { until: Option<DateTime<Utc>> },
    /// Not attempted: the subscription sends digests; the delivery waits in the digest topic.
    Digest,
}

/// Where a job goes after an attempt.
#[derive(Debug)]
pub enum Next {
    Done,
    /// To the retry topic, due at `job.due`.
    Retry(Job),
    DeadLetter(Job, DeadLetterReason),
    /// To the digest topic, to be sent with its group.
    Digest(Job),
}

/// The configuration in effect for delivery, swapped whole on reload, and the writers of the
/// retry and dead-letter topics; shared by every record task and the retry consumer.
pub struct Deliverer {
    current: RwLock<Arc<Snapshot>>,
    silences: Arc<Silences>,
    client: crate::channels::HttpClient,
    writer: Writer,
    /// The fleet's runtime state: destinations disabled, subscriptions paused.
    control: Option<Arc<Control>>,
    /// Where each delivery's story is recorded.
    ledger: Option<Ledger>,
}

/// One configuration as delivery sees it: its routing table and templates, a lane per
/// destination and a target per subscription (one notifier per destination, shared by its
/// subscriptions). Immutable; a reload makes a new one.
pub struct Snapshot {
    config: Arc<Config>,
    silences: Arc<Silences>,
    /// One per subscription, by the subscription's index in the table.
    targets: Vec<Target>,
    lanes: Lanes,
    control: Option<Arc<Control>>,
    ledger: Option<Ledger>,
}

impl Deliverer {
    /// Fails only when a destination's notifier cannot be built (its TLS setup, say).
    pub fn new(
        config: Arc<Config>,
        client: &crate::channels::HttpClient,
        writer: Writer,
        silences: Arc<Silences>,
    ) -> Result<Self, TargetError> {
        let lanes = Lanes::new(&config.policies);
        let snapshot = Snapshot::new(config, client, lanes, silences.clone(), None, None)?;
        Ok(Self {
            current: RwLock::new(Arc::new(snapshot)),
            silences,
            client: client.clone(),
            writer,
            control: None,
            ledger: None,
        })
    }

    /// The configuration in effect now. A record is routed and delivered wholly through the one
    /// it took when its processing started.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `config` in effect for every record whose processing starts from now on. A
    /// destination keeps its lane (circuit, disabled flag, queue, concurrency) while its id,
    /// `limits` and `circuit_breaker` stay the same; notifiers are built anew. Fails, changing
    /// nothing, when a notifier cannot be built.
    pub fn swap(&self, config: Arc<Config>) -> Result<(), TargetError> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let lanes = current.lanes.carried(&config.policies);
        *current = Arc::new(Snapshot::new(
            config,
            &self.client,
            lanes,
            self.silences.clone(),
            self.control.clone(),
            self.ledger.clone(),
        )?);
        Ok(())
    }

    /// Notified whenever a place frees in any destination's queue, whichever snapshot it is of.
    pub fn space(&self) -> Arc<Notify> {
        self.snapshot().lanes.space_handle()
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }
}

impl Snapshot {
    fn new(
        config: Arc<Config>,
        client: &crate::channels::HttpClient,
        lanes: Lanes,
        silences: Arc<Silences>,
        control: Option<Arc<Control>>,
        ledger: Option<Ledger>,
    ) -> Result<Self, TargetError> {
        let targets = config.destinations.targets(client)?;
        Ok(Self {
            config,
            silences,
            targets,
            lanes,
            control,
            ledger,
        })
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn table(&self) -> &RoutingTable {
        &self.config.table
    }

    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// The lane index of a job's destination, when its subscription is still configured.
    pub fn lane_of(&self, job: &Job) -> Option<usize> {
        self.config
            .table
            .subscription_by_name(&job.subscription)
            .map(|s| s.destination)
    }

    /// Makes a job's attempts: with the in-process retries for a fresh delivery, one attempt for
    /// one from the retry topic. Records what happened in the job.
    pub async fn attempt(&self, job: &mut Job, in_process: bool) -> Attempt {
        self.attempt_with(job, in_process, None).await
    }

    /// [`attempt`](Self::attempt), with a place in the destination's queue already taken.
    pub async fn attempt_with(
        &self,
        job: &mut Job,
        in_process: bool,
        place: Option<Place>,
    ) -> Attempt {
        let table = &self.config.table;
        let Some(subscription) = table.subscription_index(&job.subscription) else {
            job.last_error = Some(format!(
                "subscription {:?} is no longer configured",
                job.subscription
            ));
            return Attempt::DeadLetter(DeadLetterReason::UnknownSubscription);
        };
        let index = table.subscriptions()[subscription].destination;
        let destination = &self.config.policies[index];
        job.destination.clone_from(&destination.id);
        if let Some(control) = &self.control
            && control.paused(&job.subscription)
        {
            crate::telemetry::metrics::global().delivery(&destination.id, "paused", None);
            info!(message = "Not sent: the subscription is paused.", notification_id = %job.notification_id, subscription = %job.subscription, destination = %destination.id);
            job.destination.clone_from(&destination.id);
            self.record(job, ledger::State::Paused, None);
            return Attempt::Paused;
        }
        if let Some(mute) = &table.subscriptions()[subscription].mute
            && let Some(muted) = muted(job, mute, Utc::now())
        {
            return muted;
        }
        let delivery = crate::silence::Delivery {
            topic: &table.topics()[table.subscriptions()[subscription].topic].name,
            subscription: &job.subscription,
            destination: &destination.id,
        };
        // A digest's members were each checked on their way in; its own context (the list)
        // is not what a silence's matcher is written against.
        if job.digest.is_none()
            && let Some(silence) = self
                .silences
                .muting(&job.notification, delivery, Utc::now())
        {
            crate::telemetry::metrics::global().silenced(&job.subscription);
            info!(message = "Delivery silenced; not sent.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, silence = %silence.id, created_by = %silence.created_by);
            return Attempt::Muted { until: None };
        }
        if job.digest.is_none() && table.subscriptions()[subscription].digest.is_some() {
            return Attempt::Digest;
        }
        let lane = self.lanes.get(index);
        let disabled = lane.disabled().or_else(|| {
            self.control
                .as_ref()
                .and_then(|c| c.destination_disabled(&destination.id))
        });
        if let Some(why) = disabled {
            job.last_error = Some(format!("the destination is disabled: {why}"));
            return Attempt::DeadLetter(DeadLetterReason::DestinationDisabled);
        }
        let place = match place {
            Some(place) => Some(place),
            None => lane.enter_or_wait().await,
        };
        let Some(_place) = place else {
            job.last_error = Some(format!(
                "the queue of destination {:?} is full ({} deliveries)",
                destination.id,
                lane.queued()
            ));
            return Attempt::Deferred {
                until: lane.retry_at(),
            };
        };
        // The first attempt's slot comes before the body is rendered: a delivery waiting for
        // one holds its job, not a body and a request (the rest is boxed, so this future stays
        // small). The rate limit comes after rendering, so a body that cannot be rendered
        // uses none of it.
        let slot = lane.slot().await;
        Box::pin(self.send(job, subscription, destination, in_process, lane, slot)).await
    }

    /// Renders `job` for its subscription and sends it through `lane`, the first attempt in
    /// `slot`, retrying in process as `destination` says when `in_process`.
    async fn send(
        &self,
        job: &mut Job,
        subscription: usize,
        destination: &DeliveryPolicy,
        in_process: bool,
        lane: &Lane,
        slot: SemaphorePermit<'_>,
    ) -> Attempt {
        let target = &self.targets[subscription];
        let rendered = match job.digest {
            Some(_) => target.render_digest(&self.config.templates, &job.notification),
            None => target.render_shared(&self.config.templates, &job.notification, &job.json),
        };
        // The event's serialised body stays with those of its deliveries still to render it,
        // not with this job, which may wait a long time in the retry schedule.
        job.json = SharedJson::default();
        let message = match rendered {
            Ok(message) => message,
            Err(error) => {
                job.last_error = Some(error.to_string());
                return Attempt::DeadLetter(DeadLetterReason::RenderFailed);
            }
        };
        // Over the rate limit the first attempt waits here, its slot held: at most
        // `concurrency` rendered bodies wait.
        lane.pace().await;
        let policy = if in_process {
            Cow::Borrowed(&destination.retry)
        } else {
            Cow::Owned(RetryPolicy {
                retries: 0,
                ..destination.retry.clone()
            })
        };
        let parcel = Parcel {
            notification_id: &job.notification_id,
            delivery_id: &job.webhook_id,
            pending: job.pending.as_deref(),
        };
        let started = Utc::now();
        let (outcome, deferred_until, log) =
            deliver_logged(&message, parcel, &policy, lane, Some(slot)).await;
        job.record(log);
        let attempt = conclude(job, outcome, deferred_until, started);
        if attempt == Attempt::DeadLetter(DeadLetterReason::DestinationGone) {
            self.disable(lane, "it answered 410 Gone");
        }
        if attempt == Attempt::Delivered {
            self.record(job, ledger::State::Delivered, None);
        }
        attempt
    }

    /// Where a job goes after `attempt`: the next step of its schedule, or the end.
    pub fn next(&self, job: Job, attempt: Attempt) -> Next {
        let Some(subscription) = self.config.table.subscription_by_name(&job.subscription) else {
            self.record(
                &job,
                ledger::State::DeadLettered,
                Some(DeadLetterReason::UnknownSubscription.code().to_owned()),
            );
            return Next::DeadLetter(job, DeadLetterReason::UnknownSubscription);
        };
        let policy = &self.config.policies[subscription.destination].retry;
        let now = Now {
            wall: Utc::now(),
            instant: Instant::now(),
        };
        let next = match decide(job, attempt, policy, now, &mut rand::rng()) {
            Step::Next(next) => next,
            Step::Exhausted(job) => {
                let lane = self.lanes.get(subscription.destination);
                if disables(lane.failing_for(), policy) {
                    self.disable(lane, "every attempt failed for a whole retry horizon");
                }
                Next::DeadLetter(job, DeadLetterReason::RetriesExhausted)
            }
        };
        match &next {
            Next::Retry(job) => self.record(job, ledger::State::Retrying, job.last_error.clone()),
            Next::DeadLetter(job, reason) => {
                let why = match &job.last_error {
                    Some(error) => format!("{}: {error}", reason.code()),
                    None => reason.code().to_owned(),
                };
                self.record(job, ledger::State::DeadLettered, Some(why));
            }
            Next::Digest(job) => self.record(job, ledger::State::InDigest, None),
            Next::Done => {}
        }
        next
    }
}

/// Sends `message`, retrying in process as `policy` says. Every attempt carries the same
/// delivery id, asks `lane` first (circuit breaker) and holds one of its slots. Also returns when
/// the next probe may go, when the circuit was open: the last attempt was then not made.
pub(crate) async fn deliver(
    message: &Message,
    parcel: Parcel<'_>,
    policy: &RetryPolicy,
    lane: &Lane,
) -> (Outcome, Option<Instant>) {
    let (outcome, deferred_until, _) = deliver_logged(message, parcel, policy, lane, None).await;
    (outcome, deferred_until)
}

/// [`deliver`], with the attempts made (for the ledger); the first attempt in `first`, a slot
/// of `lane` already held (and the rate limit waited for), when given.
pub(crate) async fn deliver_logged<'l>(
    message: &Message,
    parcel: Parcel<'_>,
    policy: &RetryPolicy,
    lane: &'l Lane,
    first: Option<SemaphorePermit<'l>>,
) -> (Outcome, Option<Instant>, Vec<AttemptLog>) {
    let gate = Gate::new(policy, lane, first);
    let mut outcome = message.deliver(parcel, &gate).await;
    let log = gate.log();
    let deferred_until = gate.deferred_until();
    if deferred_until.is_some()
        && let Err(error) = &mut outcome.result
    {
        // The refused "attempt" was never made.
        error.attempts = error.attempts.saturating_sub(1);
    }
    (outcome, deferred_until, log)
}
