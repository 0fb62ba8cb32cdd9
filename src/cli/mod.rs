//! The subcommands besides `run`: check a config, explain an event, render a delivery, publish
//! events, receive webhooks, show and make signing keys, inspect and replay dead letters, run a
//! standalone broker, measure the router.

mod bench;
mod broker;
mod dead_letters;
mod explain;
mod keys;
mod publish;
mod receive;
mod render;
mod validate;

pub use bench::{BenchArgs, bench};
pub use broker::{BrokerArgs, broker, broker_topics};
pub use dead_letters::{DeadLettersArgs, DeadLettersCommand, dead_letters};
pub use explain::{ExplainArgs, explain};
pub use keys::{KeysCommand, keys};
pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use render::{RenderArgs, render};
pub use validate::validate;
