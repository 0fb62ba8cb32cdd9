//! `keys`: the public keys a webhook destination signs with, for its receivers, and new keys and
//! secrets to configure. The admin API will serve the same public keys over HTTP.

use anyhow::{anyhow, bail};

use crate::channels::{generate_key_pair, generate_secret};
use crate::config::Config;
use crate::routing::DestinationKind;

/// What `keys` does.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Print the ed25519 public keys (`whpk_...`) of a webhook destination, one per line: what
    /// its receivers verify `v1a,` signatures with.
    Show {
        /// The destination's id in router.yaml.
        destination: String,
    },
    /// Print a new ed25519 key pair (for `signing.keys`), or with --secret a new `whsec_` secret
    /// (for `signing.secrets`). Nothing is stored: put the private part in your secret store.
    Generate {
        /// A symmetric `whsec_` secret instead of a key pair.
        #[arg(long)]
        secret: bool,
    },
}

/// Runs a `keys` subcommand; `config` is loaded only for `show`.
pub fn keys(command: &KeysCommand, config: impl FnOnce() -> Option<Config>) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate { secret: true } => {
            println!("secret: {}", generate_secret().expose());
        }
        KeysCommand::Generate { secret: false } => {
            let (private, public) = generate_key_pair();
            println!(
                "private key (signing.keys, from your secret store): {}",
                private.expose()
            );
            println!("public key (for receivers): {public}");
        }
        KeysCommand::Show { destination } => {
            let config = config().ok_or_else(|| anyhow!("the configuration is not valid"))?;
            for key in public_keys(&config, destination)? {
                println!("{key}");
            }
        }
    }
    Ok(())
}

/// The `whpk_` public keys of destination `id`, or why it has none.
pub fn public_keys(config: &Config, id: &str) -> anyhow::Result<Vec<String>> {
    let destinations = config.table.destinations();
    let Some(destination) = destinations.iter().find(|d| d.id == id) else {
        let ids: Vec<&str> = destinations.iter().map(|d| d.id.as_str()).collect();
        bail!("unknown destination {id:?}; valid: {}", ids.join(", "));
    };
    let DestinationKind::Webhook(settings) = &destination.kind else {
        bail!("destination {id:?} is not a webhook destination: only webhooks are signed");
    };
    let keys = settings.signer.public_keys();
    if keys.is_empty() {
        bail!(
            "destination {id:?} has no signing keys ({} shared secret(s)): add `signing.keys` \
             (make one with `notification-router keys generate`)",
            settings.signer.secret_count()
        );
    }
    Ok(keys)
}
