//! `rate_limit`: how fast an HTTP destination may be called, as `router.yaml` writes it. The
//! dispatcher's lanes keep to it.

use serde::Deserialize;

/// At most `per_second` requests a second on average, `burst` of them at once after a quiet
/// spell.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    /// Default: 1 (requests evenly spaced).
    #[serde(default = "one")]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

/// Slack's documented pace for one channel: about one message a second.
pub const SLACK_CHANNEL_RATE: RateLimit = RateLimit {
    per_second: 1.0,
    burst: 1,
};

impl RateLimit {
    /// What is wrong with it, as (field under `rate_limit`, reason).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Some((
                "per_second",
                "must be a number above 0 (0.5 is one every 2 s)",
            ));
        }
        if self.burst == 0 {
            return Some(("burst", "must be at least 1"));
        }
        None
    }
}
