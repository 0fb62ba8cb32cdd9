//! The subcommands besides `run`: check a config, publish events, receive webhooks.

mod publish;
mod receive;
mod validate;

pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use validate::validate;
