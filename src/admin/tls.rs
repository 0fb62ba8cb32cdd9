//! HTTPS for the admin server: the certificate and key of `admin.tls` (PEM), and a listener
//! that hands axum only connections whose TLS handshake finished — each handshake in a task of
//! its own, bounded in time, so a client that never finishes one holds up no one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why `admin.tls` cannot be used; each message names the setting and the file and carries its
/// cause's text (so no variant reports that cause again as its `source`).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("admin.tls.cert {}: {error}", path.display())]
    Cert {
        path: PathBuf,
        error: rustls::pki_types::pem::Error,
    },
    #[error("admin.tls.cert {}: no certificate in it", path.display())]
    NoCert { path: PathBuf },
    #[error("admin.tls.key {}: {error}", path.display())]
    Key {
        path: PathBuf,
        error: rustls::pki_types::pem::Error,
    },
    #[error("admin.tls: {0}")]
    Protocols(rustls::Error),
    #[error("admin.tls: the key does not fit the certificate: {0}")]
    KeyMismatch(rustls::Error),
}

/// The server's TLS settings from a certificate chain and a private key, PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|error| TlsError::Cert {
            path: cert.to_owned(),
            error,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert {
            path: cert.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Key {
        path: key.to_owned(),
        error,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Protocols)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::KeyMismatch)?;
    Ok(Arc::new(config))
}

/// Accepts TCP connections and yields those that finished a TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` until `shutdown`.
    pub fn new(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    () = shutdown.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            debug!(message = "Admin accept failed.", %error);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => {
                            debug!(message = "Admin TLS handshake failed.", %peer, %error);
                        }
                        Err(_) => debug!(message = "Admin TLS handshake timed out.", %peer),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // Shutdown stopped accepting: nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
