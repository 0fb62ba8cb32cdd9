//! The subcommands besides `run`: check a config, explain an event, render a delivery, publish
//! events, receive webhooks, show and make signing keys.

mod explain;
mod keys;
mod publish;
mod receive;
mod render;
mod validate;

pub use explain::{ExplainArgs, explain};
pub use keys::{KeysCommand, keys, public_keys};
pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use render::{RenderArgs, render};
pub use validate::validate;
