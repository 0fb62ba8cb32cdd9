//! For the channels' tests: a notifier's attempts retried as the dispatcher would (in short:
//! permanent errors end them, `Retry-After` is waited for, the result counts the attempts),
//! without the channels depending on the dispatcher.

use std::future::Future;
use std::time::Duration;

use super::{Delivered, DeliveryError, FailureKind};

/// Calls `attempt(1)`, `attempt(2)`, ... until one succeeds, fails permanently or `retries`
/// retries are spent, waiting 10 ms between attempts, or the `Retry-After` asked for.
pub(crate) async fn retried<F, Fut>(
    retries: u32,
    mut attempt: F,
) -> Result<Delivered, DeliveryError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Delivered, DeliveryError>>,
{
    let mut number = 1;
    loop {
        match attempt(number).await {
            Ok(delivered) => {
                return Ok(Delivered {
                    attempts: number,
                    ..delivered
                });
            }
            Err(mut error) => {
                error.attempts = number;
                if error.kind == FailureKind::Permanent || number > retries {
                    return Err(error);
                }
                let delay = error.retry_after.unwrap_or(Duration::from_millis(10));
                tokio::time::sleep(delay).await;
            }
        }
        number += 1;
    }
}
