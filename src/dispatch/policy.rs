//! How deliveries to one destination are retried, limited and cut off, as `router.yaml` sets it.

use super::RetryPolicy;
use super::lanes::{BreakerSettings, LaneLimits};

/// A destination's delivery settings; a configuration holds one per destination, in the routing
/// table's order.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// The destination's id.
    pub id: String,
    pub retry: RetryPolicy,
    pub limits: LaneLimits,
    pub breaker: BreakerSettings,
    /// How fast the destination may be called; `None` for no limit.
    pub rate: Option<crate::channels::RateLimit>,
}
