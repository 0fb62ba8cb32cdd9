//! `dead-letters list` and `dead-letters replay`: what is on the dead-letter topic, and putting
//! deliveries back on their way once their destination is fixed. The reading and replaying are
//! [`crate::dead_letter`]'s (the console runs them too); this is the command line around them.

use anyhow::bail;

use crate::app::EMBEDDED;
use crate::config::Config;
use crate::dead_letter::{self, Entry, Filter};

/// `dead-letters`: inspect or replay the dead-letter topic.
#[derive(Debug, clap::Args)]
pub struct DeadLettersArgs {
    #[command(subcommand)]
    pub command: DeadLettersCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// Print what is on the dead-letter topic, one line per record (or JSON lines).
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// One JSON object per line, with every header and the value.
        #[arg(long)]
        json: bool,
    },
    /// Re-enqueue matching deliveries for delivery through the current configuration.
    Replay {
        #[command(flatten)]
        filter: FilterArgs,
        /// Print what would be replayed, and the counts, without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Which dead letters a command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only deliveries to this destination.
    #[arg(long)]
    pub destination: Option<String>,
    /// Only deliveries of this subscription.
    #[arg(long)]
    pub subscription: Option<String>,
    /// Only this reason code (`retries-exhausted`, `delivery-rejected`, ...).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only records written since: an RFC 3339 time, or a duration ago (`2h`, `30m`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// Brokers; by default `kafka.brokers` of the config.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub brokers: Option<String>,
}

/// Runs `dead-letters list` or `dead-letters replay`.
pub async fn dead_letters(config: &Config, args: &DeadLettersArgs) -> anyhow::Result<()> {
    match &args.command {
        DeadLettersCommand::List { filter, json } => {
            let entries = matching(config, filter).await?;
            for entry in &entries {
                if *json {
                    println!("{}", entry.json());
                } else {
                    println!("{}", entry.line());
                }
            }
            if !*json {
                eprintln!("{} dead letter(s).", entries.len());
            }
            Ok(())
        }
        DeadLettersCommand::Replay { filter, dry_run } => replay(config, filter, *dry_run).await,
    }
}

async fn replay(config: &Config, args: &FilterArgs, dry_run: bool) -> anyhow::Result<()> {
    let brokers = brokers(config, args)?;
    let report = dead_letter::replay(config, &brokers, &args.filter()?, dry_run).await?;
    for skipped in &report.skipped {
        eprintln!("{skipped}");
    }
    for line in &report.lines {
        println!("{line}");
    }
    println!("{}", report.summary);
    Ok(())
}

impl FilterArgs {
    /// The filter the arguments describe.
    pub fn filter(&self) -> anyhow::Result<Filter> {
        Ok(Filter {
            destination: self.destination.clone(),
            subscription: self.subscription.clone(),
            reason: self.reason.clone(),
            since: self
                .since
                .as_deref()
                .map(dead_letter::parse_since)
                .transpose()?,
            webhook_id: None,
        })
    }
}

/// The dead letters matching the filter, read to the topic's current end.
async fn matching(config: &Config, args: &FilterArgs) -> anyhow::Result<Vec<Entry>> {
    Ok(dead_letter::read_matching(config, &brokers(config, args)?, &args.filter()?).await?)
}

fn brokers(config: &Config, args: &FilterArgs) -> anyhow::Result<String> {
    let brokers = args
        .brokers
        .clone()
        .unwrap_or_else(|| config.router.kafka.brokers.clone());
    if brokers.trim() == EMBEDDED {
        bail!(
            "the embedded broker lives inside the running router: pass --brokers with the address it printed"
        );
    }
    Ok(brokers)
}
