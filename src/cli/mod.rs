//! The subcommands besides `run`: check a config, explain an event, measure a proposed
//! configuration's impact on recent traffic, render a delivery, publish events, receive webhooks,
//! show and make signing keys, inspect and replay dead letters, list, show and resend deliveries,
//! run a standalone broker, turn sources on and off, make and expire silences.

mod broker;
mod dead_letters;
mod deliveries;
mod explain;
mod impact;
mod keys;
mod publish;
mod receive;
mod render;
mod silences;
mod sources;
mod validate;

pub use broker::{BrokerArgs, broker, broker_topics};
pub use dead_letters::{DeadLettersArgs, DeadLettersCommand, dead_letters};
pub use deliveries::{DeliveriesArgs, DeliveriesCommand, deliveries};
pub use explain::{ExplainArgs, explain};
pub use impact::{ImpactArgs, impact};
pub use keys::{KeysCommand, keys};
pub use publish::{PublishArgs, publish};
pub use receive::{ReceiveArgs, receive};
pub use render::{RenderArgs, render};
pub use silences::{SilencesArgs, SilencesCommand, silences};
pub use sources::{SourcesCommand, sources};
pub use validate::validate;
