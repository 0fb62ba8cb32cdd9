//! The one place that decides what a Slack error string means: retry or not, one channel or all.
//!
//! Sources: the `chat.postMessage` reference (errors table), the Web API rate-limit page
//! (HTTP 429 with `Retry-After`, error `ratelimited`), and Slack's changelog of 2016-05-17 for
//! incoming webhooks (400 `invalid_payload`, `user_not_found`; 403 `action_prohibited`;
//! 404 `channel_not_found`; 410 `channel_is_archived`; 500 `rollup_error`), plus the strings
//! webhooks are known to answer with (`no_service`, `no_team`, `invalid_token`, `no_text`, ...).

use crate::channels::{FailureKind, classify};

/// Whether a Slack error concerns the channel posted to, or the whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackErrorScope {
    /// Only this channel: the others may still get the message.
    Channel,
    /// Every channel would fail the same way now: the token, the message itself, the workspace.
    Request,
}

use FailureKind::{Permanent, Retryable};
use SlackErrorScope::{Channel, Request};

/// Known error strings. Slack names its transient failures; everything else it answers is about
/// the request, so an unknown string is permanent unless the HTTP status says otherwise.
const SLACK_ERRORS: &[(&str, FailureKind, SlackErrorScope)] = &[
    // Slow down or try later.
    ("ratelimited", Retryable, Request),
    ("rate_limited", Retryable, Request),
    ("service_unavailable", Retryable, Request),
    ("team_added_to_org", Retryable, Request),
    ("internal_error", Retryable, Channel),
    ("fatal_error", Retryable, Channel),
    ("request_timeout", Retryable, Channel),
    ("rollup_error", Retryable, Channel),
    // The channel.
    ("channel_not_found", Permanent, Channel),
    ("not_in_channel", Permanent, Channel),
    ("is_archived", Permanent, Channel),
    ("channel_is_archived", Permanent, Channel),
    ("restricted_action", Permanent, Channel),
    ("restricted_action_read_only_channel", Permanent, Channel),
    ("restricted_action_thread_only_channel", Permanent, Channel),
    (
        "restricted_action_non_threadable_channel",
        Permanent,
        Channel,
    ),
    ("posting_to_general_channel_denied", Permanent, Channel),
    ("cannot_reply_to_message", Permanent, Channel),
    ("messages_tab_disabled", Permanent, Channel),
    ("user_not_found", Permanent, Channel),
    // The token, the webhook or the workspace.
    ("invalid_auth", Permanent, Request),
    ("not_authed", Permanent, Request),
    ("account_inactive", Permanent, Request),
    ("token_revoked", Permanent, Request),
    ("token_expired", Permanent, Request),
    ("invalid_token", Permanent, Request),
    ("no_permission", Permanent, Request),
    ("missing_scope", Permanent, Request),
    ("not_allowed_token_type", Permanent, Request),
    ("org_login_required", Permanent, Request),
    ("ekm_access_denied", Permanent, Request),
    ("team_access_not_granted", Permanent, Request),
    ("access_denied", Permanent, Channel),
    ("action_prohibited", Permanent, Request),
    ("no_service", Permanent, Request),
    ("no_team", Permanent, Request),
    ("no_active_hooks", Permanent, Request),
    // The message itself.
    ("invalid_blocks", Permanent, Request),
    ("invalid_blocks_format", Permanent, Request),
    ("invalid_attachments", Permanent, Request),
    ("invalid_payload", Permanent, Request),
    ("invalid_json", Permanent, Request),
    ("json_not_object", Permanent, Request),
    ("invalid_arguments", Permanent, Request),
    ("invalid_arg_name", Permanent, Request),
    ("invalid_array_arg", Permanent, Request),
    ("invalid_charset", Permanent, Request),
    ("invalid_form_data", Permanent, Request),
    ("invalid_post_type", Permanent, Request),
    ("missing_post_type", Permanent, Request),
    ("no_text", Permanent, Request),
    (
        "missing_text_or_fallback_or_attachments",
        Permanent,
        Request,
    ),
    ("msg_too_long", Permanent, Request),
    ("msg_blocks_too_long", Permanent, Request),
    ("too_many_attachments", Permanent, Request),
    ("invalid_metadata_format", Permanent, Request),
    ("invalid_metadata_schema", Permanent, Request),
    ("metadata_too_large", Permanent, Request),
    // The endpoint.
    ("unknown_method", Permanent, Request),
    ("method_deprecated", Permanent, Request),
    ("deprecated_endpoint", Permanent, Request),
    ("upgrade_required", Permanent, Request),
];

fn known(error: &str) -> Option<(FailureKind, SlackErrorScope)> {
    SLACK_ERRORS
        .iter()
        .find(|(name, _, _)| *name == error)
        .map(|&(_, kind, scope)| (kind, scope))
}

/// Whether retrying could help after Slack answered `error` (`channel_not_found`,
/// `ratelimited`, ...). Unknown strings are permanent: Slack names its transient failures, and
/// [`slack_failure_kind`] lets a 429 or 5xx status decide for strings not listed.
pub fn slack_error_kind(error: &str) -> FailureKind {
    known(error).map_or(Permanent, |(kind, _)| kind)
}

/// The kind of a failed Slack answer: a known error string decides; otherwise the HTTP status
/// does ([`classify`]: 429 and 5xx retryable), and an unknown error in a 2xx answer (the Web
/// API's `{"ok": false}`) is permanent.
pub fn slack_failure_kind(status: u16, error: Option<&str>) -> FailureKind {
    if let Some((kind, _)) = error.and_then(known) {
        return kind;
    }
    match classify(status) {
        Ok(()) => Permanent,
        Err(kind) => kind,
    }
}

/// Whether `error` concerns only the channel posted to; unknown strings are taken to, so that
/// an error we do not know never keeps the message from the other channels.
pub fn slack_error_scope(error: &str) -> SlackErrorScope {
    known(error).map_or(Channel, |(_, scope)| scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_error_strings() {
        let cases = [
            ("channel_not_found", Permanent, Channel),
            ("invalid_auth", Permanent, Request),
            ("not_authed", Permanent, Request),
            ("account_inactive", Permanent, Request),
            ("token_revoked", Permanent, Request),
            ("invalid_blocks", Permanent, Request),
            ("invalid_blocks_format", Permanent, Request),
            ("invalid_payload", Permanent, Request),
            ("no_text", Permanent, Request),
            ("msg_too_long", Permanent, Request),
            ("is_archived", Permanent, Channel),
            ("channel_is_archived", Permanent, Channel),
            ("not_in_channel", Permanent, Channel),
            ("no_service", Permanent, Request),
            ("action_prohibited", Permanent, Request),
            ("invalid_token", Permanent, Request),
            ("missing_scope", Permanent, Request),
            ("restricted_action", Permanent, Channel),
            ("too_many_attachments", Permanent, Request),
            ("ratelimited", Retryable, Request),
            ("rate_limited", Retryable, Request),
            ("internal_error", Retryable, Channel),
            ("fatal_error", Retryable, Channel),
            ("service_unavailable", Retryable, Request),
            ("request_timeout", Retryable, Channel),
            ("rollup_error", Retryable, Channel),
            ("something_new", Permanent, Channel),
        ];
        for (error, kind, scope) in cases {
            assert_eq!(slack_error_kind(error), kind, "{error}");
            assert_eq!(slack_error_scope(error), scope, "{error}");
        }
    }

    #[test]
    fn lets_the_status_decide_for_unknown_strings() {
        let cases = [
            (200, Some("channel_not_found"), Permanent),
            (200, Some("ratelimited"), Retryable),
            (429, Some("ratelimited"), Retryable),
            (429, None, Retryable),
            (404, Some("no_service"), Permanent),
            (410, Some("channel_is_archived"), Permanent),
            (500, Some("rollup_error"), Retryable),
            (500, Some("something_new"), Retryable),
            (503, None, Retryable),
            (200, Some("something_new"), Permanent),
            (400, Some("something_new"), Permanent),
            (400, None, Permanent),
            (302, None, Retryable),
        ];
        for (status, error, kind) in cases {
            assert_eq!(
                slack_failure_kind(status, error),
                kind,
                "{status} {error:?}"
            );
        }
    }

    #[test]
    fn lists_each_error_once() {
        for (i, (name, _, _)) in SLACK_ERRORS.iter().enumerate() {
            assert!(
                SLACK_ERRORS[i + 1..]
                    .iter()
                    .all(|(other, _, _)| other != name),
                "{name} listed twice"
            );
        }
    }
}
