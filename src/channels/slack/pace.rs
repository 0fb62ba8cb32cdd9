//! A Slack bot's pace per channel: Slack allows about one message a second to a channel, so
//! posts to one channel wait for each other while posts to others go on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::channels::http::{Pace, SLACK_CHANNEL_RATE};

/// The pace of each channel a bot has posted to; shared by clones.
#[derive(Debug, Clone, Default)]
pub(super) struct ChannelPaces(Arc<Mutex<HashMap<String, Arc<Pace>>>>);

impl ChannelPaces {
    /// Waits until a post to `channel` may go ([`SLACK_CHANNEL_RATE`]).
    pub(super) async fn wait(&self, channel: &str) {
        let pace = {
            let mut paces = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            paces
                .entry(channel.to_owned())
                .or_insert_with(|| Arc::new(Pace::new(&SLACK_CHANNEL_RATE)))
                .clone()
        };
        pace.wait().await;
    }
}
