//! `keys`: the public keys a webhook destination signs with, for its receivers, and new keys and
//! secrets to configure. The admin API will serve the same public keys over HTTP.

use anyhow::anyhow;

use crate::channels::{generate_key_pair, generate_secret};
use crate::config::Config;

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
            let keys = config
                .destinations
                .public_keys(destination)
                .map_err(anyhow::Error::msg)?;
            for key in keys {
                println!("{key}");
            }
        }
    }
    Ok(())
}
