//! Email delivery: a rendered notification sent over SMTP in batches of recipients, through a
//! pooled lettre transport.
//!
//! # What a recipient gets
//! One `multipart/alternative` message (text/plain, then text/html, UTF-8) with `From`
//! (display name replaceable per message), `Reply-To`, `Subject`, `Date`, a `Message-ID` of
//! `<{delivery id}.{batch}@{domain of from}>` that stays the same when a batch is retried,
//! `Auto-Submitted: auto-generated` (RFC 3834) and `X-Notification-Id`.
//!
//! Recipients never see each other: they are only in the SMTP envelope, like `Bcc`, and the
//! `To` header is the empty group `undisclosed-recipients:;` (a raw header, encoded by lettre
//! like every other header value, so no value can add a header).
//!
//! # Batches, failures and the guarantee
//! The recipient list is cut into batches of `batch_size`; each batch is one SMTP transaction.
//! [`EmailProgress`] records, across attempts, who was delivered or rejected, so an attempt
//! sends only to recipients still pending and nobody is sent the email twice by us. A reply
//! that fails a transaction may concern one recipient only (lettre gives up a transaction at
//! the first refused RCPT, and does not say which command failed), so:
//! - a 5xx makes that batch fall back at once to one transaction per recipient: a recipient
//!   answered 5xx is rejected (with the reply), 4xx stays pending, the others get it;
//! - a 4xx leaves the batch pending (the server asked for later) and marks it, so that the
//!   next attempt sends it one transaction per recipient and one deferred mailbox cannot hold
//!   back the others.
//!
//! Failures of the session (no connection, TLS, timeouts, 421, credentials refused) end the
//! attempt, since every batch would fail the same way; [`reply`] decides all of this.
//! A recipient is marked delivered only on the server's final 250. If that reply is lost (a
//! timeout, a dropped connection), the recipient stays pending and a retry sends it again:
//! delivery is at least once, and the stable Message-ID lets mail systems drop the duplicate.
//!
//! # TLS
//! `smtps://` speaks TLS from the start; `smtp://` upgrades with STARTTLS as `starttls` says
//! (required by default, which sends nothing if the server does not offer it). Certificates
//! are checked against the Mozilla roots. A password is never sent where TLS is not certain,
//! except to a loopback address.
//!
//! # Layout
//! - [`config`]: the destination as `router.yaml` writes it, and its subscriptions' attributes;
//! - [`settings`]: [`EmailSettings`] and its startup check;
//! - [`message`]: [`EmailMessage`], [`EmailContent`] and the RFC 5322 form of a batch;
//! - [`progress`]: [`EmailProgress`], the recipients' state across attempts;
//! - [`reply`]: classification of SMTP failures (retry or not, transaction or session);
//! - `target`: a subscription bound to the notifier: rendered, sent, previewed.

pub mod config;
mod message;
mod progress;
mod reply;
mod settings;
mod target;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use humantime_serde::re::humantime::format_duration;
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tracing::{debug, warn};

pub use config::{Attributes, EmailDestination, MAX_RECIPIENTS, SmtpConfig};
pub use message::{EmailContent, EmailMessage};
pub use progress::EmailProgress;
pub use settings::{
    DEFAULT_BATCH_SIZE, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT,
    EmailSettings, MAX_BATCH_SIZE, SettingsError, StartTls,
};
pub use target::{Message, Target};

use crate::channels::{Delivered, DeliveryError, FailureKind};
use message::format_batch;
use progress::PendingBatch;
use reply::{Cause, Scope, describe, smtp_failure_kind};

/// The most rejected recipients named in one error message.
const REJECTIONS_LISTED: usize = 5;

/// Sends emails to one SMTP server. Cheap to clone: clones share the settings and the pool.
#[derive(Clone)]
pub struct EmailNotifier {
    settings: Arc<EmailSettings>,
    /// `scheme://host:port`, for messages and logs.
    server: Arc<str>,
    /// Replaced after a timeout, so a connection left mid-command is never reused.
    transport: Arc<Mutex<AsyncSmtpTransport<Tokio1Executor>>>,
}

/// A failed exchange, before it becomes the attempt's [`DeliveryError`].
#[derive(Debug)]
struct Failure {
    kind: FailureKind,
    scope: Scope,
    status: Option<u16>,
    /// The server's reply (`550 5.1.1 No such user`), or what failed when there was none.
    reply: String,
    message: String,
}

/// Why an email notifier cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("the email notifier for {0} must be created inside a Tokio runtime")]
    NoRuntime(String),
    #[error("cannot set up TLS for {server}: {error}")]
    Tls {
        server: String,
        error: lettre::transport::smtp::Error,
    },
}

impl EmailNotifier {
    /// Checks `settings` and sets up the pool; nothing connects until the first send. Must be
    /// called inside a Tokio runtime, where the pool runs its cleanup task.
    pub fn new(settings: EmailSettings) -> Result<EmailNotifier, NotifierError> {
        settings.check()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NotifierError::NoRuntime(settings.server()));
        }
        let transport = build_transport(&settings)?;
        Ok(EmailNotifier {
            server: settings.server().into(),
            settings: Arc::new(settings),
            transport: Arc::new(Mutex::new(transport)),
        })
    }

    /// The settings this notifier was built with.
    pub fn settings(&self) -> &EmailSettings {
        &self.settings
    }

    /// One attempt: sends to the recipients still pending in `progress` (made from
    /// `message.recipients`), batch after batch, and records who got it or was rejected.
    ///
    /// `Ok` when nobody is pending any more and somebody got the email (status 250); read
    /// [`EmailProgress::rejected`] for the rest. A permanent error when everybody was rejected
    /// or the session failed for good (credentials, TLS not offered); a retryable one while
    /// recipients are still pending for a reason that may pass. Errors carry the SMTP code
    /// and the server's reply when there was one.
    pub async fn send(
        &self,
        message: &EmailMessage<'_>,
        progress: &EmailProgress,
    ) -> Result<Delivered, DeliveryError> {
        if message.recipients.is_empty() {
            return Err(DeliveryError::permanent("the email has no recipients"));
        }
        if !progress.tracks(message.recipients) {
            return Err(DeliveryError::permanent(
                "the email progress was made for other recipients than the message's",
            ));
        }
        let batches = progress.pending_batches(self.settings.batch_size);
        let mut failure: Option<Failure> = None;
        for batch in &batches {
            let sent = tokio::time::timeout(
                self.settings.send_timeout,
                self.send_batch(message, progress, batch),
            )
            .await;
            let batch_failure = match sent {
                Ok(Ok(())) => continue,
                Ok(Err(batch_failure)) => batch_failure,
                Err(_elapsed) => {
                    self.renew_transport();
                    Failure::session(
                        FailureKind::Retryable,
                        format!(
                            "timed out after {} sending {} to {}",
                            format_duration(self.settings.send_timeout),
                            batch_name(batch),
                            self.server
                        ),
                    )
                }
            };
            let ends_attempt = batch_failure.scope == Scope::Session;
            if failure.is_none() || ends_attempt {
                failure = Some(batch_failure);
            }
            if ends_attempt {
                break;
            }
        }
        self.conclude(progress, failure)
    }

    /// The exact RFC 5322 message of the first batch (`Date` aside), as a `render` command
    /// shows it; nothing is sent. Other batches differ only in their Message-ID.
    pub fn format(&self, message: &EmailMessage<'_>) -> Result<Vec<u8>, DeliveryError> {
        let first = &message.recipients[..message.recipients.len().min(self.settings.batch_size)];
        format_batch(&self.settings, message, 0, first).map(|(_, email)| email)
    }

    /// One batch: one transaction, or one per recipient once a reply has failed the batch.
    async fn send_batch(
        &self,
        message: &EmailMessage<'_>,
        progress: &EmailProgress,
        batch: &PendingBatch,
    ) -> Result<(), Failure> {
        let (envelope, email) =
            format_batch(&self.settings, message, batch.index, &batch.recipients)
                .map_err(|error| Failure::session(error.kind, error.message))?;
        if !batch.split {
            let failure = match self.transact(&envelope, &email, &batch_name(batch)).await {
                Ok(()) => {
                    progress.mark_delivered(&batch.positions);
                    return Ok(());
                }
                Err(failure) => failure,
            };
            match (failure.kind, failure.scope) {
                (_, Scope::Session) => return Err(failure),
                (FailureKind::Retryable, Scope::Transaction) => {
                    if batch.recipients.len() > 1 {
                        progress.mark_split(batch.index);
                    }
                    return Err(failure);
                }
                (FailureKind::Permanent, Scope::Transaction) => {
                    if let [position] = batch.positions.as_slice() {
                        progress.mark_rejected(*position, failure.reply);
                        return Ok(());
                    }
                    progress.mark_split(batch.index);
                }
            }
        }
        let mut deferred = None;
        for (recipient, &position) in batch.recipients.iter().zip(&batch.positions) {
            let single =
                Envelope::new(envelope.from().cloned(), vec![recipient.clone()]).map_err(|e| {
                    Failure::session(
                        FailureKind::Permanent,
                        format!("cannot address the email to <{recipient}>: {e}"),
                    )
                })?;
            match self
                .transact(&single, &email, &format!("<{recipient}>"))
                .await
            {
                Ok(()) => progress.mark_delivered(&[position]),
                Err(failure) => match (failure.kind, failure.scope) {
                    (_, Scope::Session) => return Err(failure),
                    (FailureKind::Permanent, _) => progress.mark_rejected(position, failure.reply),
                    (FailureKind::Retryable, _) => {
                        deferred.get_or_insert(failure);
                    }
                },
            }
        }
        deferred.map_or(Ok(()), Err)
    }

    /// One SMTP transaction of `email` to the envelope's recipients, described as `who`.
    async fn transact(&self, envelope: &Envelope, email: &[u8], who: &str) -> Result<(), Failure> {
        let transport = self
            .transport
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let recipients = envelope.to().len();
        match transport.send_raw(envelope, email).await {
            Ok(response) => {
                let code = u16::from(response.code());
                debug!(message = "Email sent.", server = %self.server, to = who, recipients, code);
                Ok(())
            }
            Err(error) => {
                let (cause, text) = describe(&error);
                let (kind, scope) = smtp_failure_kind(cause);
                let (status, message) = match cause {
                    Cause::Reply(code) => (
                        Some(code),
                        format!("{} answered {text} for {who}", self.server),
                    ),
                    Cause::Unanswered | Cause::Refused => {
                        (None, format!("cannot send to {}: {text}", self.server))
                    }
                };
                debug!(
                    message = "Email transaction failed.",
                    server = %self.server,
                    to = who,
                    recipients,
                    code = status,
                    error = %message,
                );
                Err(Failure {
                    kind,
                    scope,
                    status,
                    reply: text,
                    message,
                })
            }
        }
    }

    /// The attempt's result from the recipients' state and the failure that mattered most.
    fn conclude(
        &self,
        progress: &EmailProgress,
        failure: Option<Failure>,
    ) -> Result<Delivered, DeliveryError> {
        let (delivered, rejected, pending) = progress.counts();
        let total = delivered + rejected + pending;
        if pending == 0 && delivered > 0 {
            return Ok(Delivered {
                status: 250,
                attempts: 1,
            });
        }
        if pending == 0 {
            let rejections = progress.rejected();
            let mut listed: Vec<String> = rejections
                .iter()
                .take(REJECTIONS_LISTED)
                .map(|(address, reply)| format!("<{address}>: {reply}"))
                .collect();
            if rejections.len() > REJECTIONS_LISTED {
                listed.push(format!("and {} more", rejections.len() - REJECTIONS_LISTED));
            }
            return Err(DeliveryError {
                kind: FailureKind::Permanent,
                status: rejections.first().and_then(|(_, reply)| reply_code(reply)),
                retry_after: None,
                message: format!(
                    "{} rejected all {}: {}",
                    self.server,
                    count(total),
                    listed.join("; ")
                ),
                attempts: 1,
            });
        }
        let failure = failure.unwrap_or_else(|| {
            Failure::session(
                FailureKind::Retryable,
                format!("nothing sent to {}", self.server),
            )
        });
        Err(DeliveryError {
            kind: failure.kind,
            status: failure.status,
            retry_after: None,
            message: format!(
                "{}; {pending} of {} pending, {delivered} delivered, {rejected} rejected",
                failure.message,
                count(total)
            ),
            attempts: 1,
        })
    }

    /// Drops the pool, with any connection a timeout left in the middle of a command.
    fn renew_transport(&self) {
        match build_transport(&self.settings) {
            Ok(transport) => {
                *self
                    .transport
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = transport;
            }
            Err(error) => {
                warn!(message = "Cannot renew the SMTP pool.", server = %self.server, %error)
            }
        }
    }
}

impl Failure {
    /// A failure of the whole attempt without an SMTP reply.
    fn session(kind: FailureKind, message: String) -> Failure {
        Failure {
            kind,
            scope: Scope::Session,
            status: None,
            reply: message.clone(),
            message,
        }
    }
}

impl fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The pooled transport for checked settings.
fn build_transport(
    settings: &EmailSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifierError> {
    let server = settings.server();
    let host = settings
        .host()
        .ok_or_else(|| SettingsError::NoHost(server.clone()))?;
    let tls_parameters = || {
        TlsParameters::new(host.clone()).map_err(|error| NotifierError::Tls {
            server: server.clone(),
            error,
        })
    };
    let tls = match (settings.implicit_tls(), settings.starttls) {
        (true, _) => Tls::Wrapper(tls_parameters()?),
        (false, StartTls::Required) => Tls::Required(tls_parameters()?),
        (false, StartTls::Opportunistic) => Tls::Opportunistic(tls_parameters()?),
        (false, StartTls::Off) => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
        .port(settings.port())
        .tls(tls)
        .timeout(Some(settings.connect_timeout))
        .pool_config(PoolConfig::new().max_size(settings.max_connections));
    if let (Some(username), Some(password)) = (&settings.username, &settings.password) {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            password.expose().clone(),
        ));
    }
    Ok(builder.build())
}

fn batch_name(batch: &PendingBatch) -> String {
    format!(
        "batch {} ({})",
        batch.index + 1,
        count(batch.recipients.len())
    )
}

/// `1 recipient`, `3 recipients`.
fn count(recipients: usize) -> String {
    match recipients {
        1 => "1 recipient".to_owned(),
        n => format!("{n} recipients"),
    }
}

/// The code a recorded reply starts with.
fn reply_code(reply: &str) -> Option<u16> {
    reply.get(..3)?.parse().ok()
}
