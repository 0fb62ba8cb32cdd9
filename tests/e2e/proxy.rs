//! A broker outage without losing the broker's data: a TCP proxy in front of tansu, which
//! advertises the proxy's port. Stopping the proxy closes every connection and refuses new ones,
//! as a broker that is gone does; starting it again on the same port is the broker's return,
//! with everything it held (tansu's storage is in memory, so a real restart would empty it).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::common::{TOPICS, Tansu, free_port};

/// A tansu broker behind a [`Proxy`], with the scenarios' topics.
pub fn broker_behind_proxy() -> (Tansu, Proxy) {
    let port = free_port();
    let tansu = Tansu::start_advertising(&TOPICS, port);
    let upstream: SocketAddr = tansu.listener().parse().expect("address");
    let proxy = Proxy::start(port, upstream);
    tansu.create_topics();
    (tansu, proxy)
}

/// Forwards connections on a loopback port to the broker while running.
pub struct Proxy {
    port: u16,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `port` (retrying while it is still held), forwarding to `upstream`.
    pub fn start(port: u16, upstream: SocketAddr) -> Self {
        let mut proxy = Self {
            port,
            upstream,
            task: None,
        };
        proxy.restart();
        proxy
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker goes away: every connection closed, new ones refused.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            // Dropping the accept loop drops its connections' tasks, and so their sockets.
            task.abort();
        }
    }

    /// The broker comes back on the same port.
    pub fn restart(&mut self) {
        assert!(self.task.is_none(), "stopped first");
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        // SO_REUSEADDR: the connections it closed linger in TIME_WAIT on this port.
        let listen = || -> std::io::Result<TcpListener> {
            let socket = TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(address)?;
            socket.listen(1024)
        };
        let listener = loop {
            match listen() {
                Ok(listener) => break listener,
                Err(error) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot listen on {address}: {error}"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(async move {
                    if let Ok(mut broker) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        }));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}
