//! `receive`: a webhook receiver that prints every delivery, for trying the router out.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};

#[derive(Debug, Clone, clap::Args)]
pub struct ReceiveArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Status code to answer with (try 500 to see retries, 400 to see the dead-letter topic).
    #[arg(long, default_value_t = 200)]
    pub status: u16,
}

/// Serves until the process is stopped.
pub async fn receive(args: &ReceiveArgs) -> anyhow::Result<()> {
    let status = StatusCode::from_u16(args.status)?;
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
            print_request(&method, &uri, &headers, &body);
            status
        },
    );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!(
        "Receiving webhooks on http://{}/ (answering {status}); Ctrl-C to stop.",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

fn print_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    let mut out = format!("\n{method} {uri}\n");
    for (name, value) in headers {
        if name.as_str().starts_with("webhook-") || name == "content-type" || name == "user-agent" {
            out.push_str(&format!(
                "{name}: {}\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => out.push_str(&serde_json::to_string_pretty(&json).unwrap_or_default()),
        Err(_) => out.push_str(&String::from_utf8_lossy(body)),
    }
    println!("{out}");
}
