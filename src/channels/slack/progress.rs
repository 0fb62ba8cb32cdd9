//! Which channels of one bot delivery have the message, so a retry posts only where it is pending.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Where one bot channel stands within a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelState {
    /// Not posted yet, or failed in a way that may pass on a later attempt.
    Pending,
    /// Slack accepted the message for this channel.
    Delivered,
    /// Slack refused the message for this channel for good.
    Rejected {
        /// Slack's error string (like `channel_not_found`), or what went wrong when it gave none.
        error: String,
    },
}

/// Which channels of one bot delivery have the message; shared by its attempts, so a retry
/// posts only where it is still pending. Channels keep the order they were first sent in.
#[derive(Debug, Default)]
pub struct SlackProgress {
    channels: Mutex<Vec<(String, ChannelState)>>,
}

impl SlackProgress {
    /// Progress with no channel tried yet.
    pub fn new() -> SlackProgress {
        SlackProgress::default()
    }

    /// Where `channel` stands, if an attempt has seen it.
    pub fn state(&self, channel: &str) -> Option<ChannelState> {
        self.lock()
            .iter()
            .find(|(name, _)| name == channel)
            .map(|(_, state)| state.clone())
    }

    /// Channels still pending.
    pub fn pending(&self) -> Vec<String> {
        self.names(|state| *state == ChannelState::Pending)
    }

    /// Channels Slack accepted the message for.
    pub fn delivered(&self) -> Vec<String> {
        self.names(|state| *state == ChannelState::Delivered)
    }

    /// Channels Slack refused for good, each with Slack's error string.
    pub fn rejected(&self) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .filter_map(|(name, state)| match state {
                ChannelState::Rejected { error } => Some((name.clone(), error.clone())),
                _ => None,
            })
            .collect()
    }

    fn names(&self, keep: impl Fn(&ChannelState) -> bool) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, state)| keep(state))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Adds the channels not seen yet as pending.
    pub(super) fn track(&self, channels: &[String]) {
        let mut known = self.lock();
        for channel in channels {
            if !known.iter().any(|(name, _)| name == channel) {
                known.push((channel.clone(), ChannelState::Pending));
            }
        }
    }

    /// Which of `channels` are pending.
    pub(super) fn pending_of(&self, channels: &[String]) -> Vec<String> {
        channels
            .iter()
            .filter(|channel| {
                self.state(channel)
                    .is_none_or(|state| state == ChannelState::Pending)
            })
            .cloned()
            .collect()
    }

    pub(super) fn record(&self, channel: &str, new_state: ChannelState) {
        let mut known = self.lock();
        match known.iter_mut().find(|(name, _)| name == channel) {
            Some((_, state)) => *state = new_state,
            None => known.push((channel.to_owned(), new_state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(String, ChannelState)>> {
        // The list stays consistent even if a holder panicked: every change is one assignment.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
