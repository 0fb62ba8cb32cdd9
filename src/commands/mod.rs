//! The subcommands besides `run`: check a config, render a delivery, publish events, receive
//! webhooks, inspect and replay dead letters, run a standalone broker.

mod broker;
mod dead_letters;
mod publish;
mod receive;
mod render;
mod validate;

pub use broker::{BrokerArgs, broker, broker_topics};
pub use dead_letters::{DeadLettersArgs, DeadLettersCommand, dead_letters};
pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use render::{RenderArgs, render};
pub use validate::validate;
