//! `broker`: a one-broker Kafka (librdkafka's mock cluster) in a process of its own, printing its
//! address, so that producers, the router and benchmarks can share it without a Kafka install.

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::kafka::EmbeddedKafka;

#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    /// A topic to create, as NAME or NAME:PARTITIONS (3 by default); repeat for more.
    #[arg(long = "topic", value_name = "NAME[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Also stop when standard input closes (so that a parent's broker dies with it).
    #[arg(long, hide = true)]
    pub stop_with_stdin: bool,
}

/// Starts the broker, prints its bootstrap address alone on the first line of standard output,
/// and serves until `shutdown`. Its data lives as long as the process.
pub async fn broker(args: &BrokerArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let topics = args
        .topics
        .iter()
        .map(|spec| match spec.split_once(':') {
            Some((name, partitions)) => partitions
                .parse()
                .with_context(|| format!("{spec:?}: partitions must be a number"))
                .map(|p| (name.to_owned(), p)),
            None => Ok((spec.clone(), 3)),
        })
        .collect::<anyhow::Result<Vec<(String, i32)>>>()?;
    let broker = EmbeddedKafka::start(&topics)?;
    println!("{}", broker.bootstrap_servers());
    eprintln!(
        "Kafka broker (librdkafka mock cluster) listening on {}; topics: {}. Ctrl-C to stop.",
        broker.bootstrap_servers(),
        args.topics.join(", ")
    );
    if args.stop_with_stdin {
        let cancel = shutdown.clone();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            cancel.cancel();
        });
    }
    shutdown.cancelled().await;
    drop(broker);
    Ok(())
}
