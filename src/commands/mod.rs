//! The subcommands besides `run`: check a config, render a delivery, publish events, receive
//! webhooks, run a Kafka broker, measure the router.

mod bench;
mod broker;
mod publish;
mod receive;
mod render;
mod validate;

pub use bench::{BenchArgs, bench};
pub use broker::{BrokerArgs, broker};
pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use render::{RenderArgs, render};
pub use validate::validate;
