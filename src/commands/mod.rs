//! The subcommands besides `run`: check a config, render a delivery, publish events, receive
//! webhooks.

mod publish;
mod receive;
mod render;
mod validate;

pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use render::{RenderArgs, render};
pub use validate::validate;
