//! TLS for tests: a certificate authority made at test time, and a TLS listener presenting one
//! of its certificates, optionally in front of a plain-text server (a Kafka broker, say).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::receiver::WAIT;

/// A test CA, made at test time.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "notification-router test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        TestCa { issuer }
    }

    /// The CA certificate, written where `ssl.ca.location` can point.
    pub fn write_pem(&self, dir: &Path) -> String {
        let path = dir.join("ca.pem");
        std::fs::write(&path, self.issuer.pem()).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A server certificate for `host` (its only name) and its key.
    pub fn server_cert(&self, host: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, host);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }
}

impl TestCa {
    /// A client certificate for `name` and its key, written as PEM files `{name}.crt` and
    /// `{name}.key` in `dir`; their paths.
    pub fn write_client_cert(&self, dir: &Path, name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let path = |p: &Path| p.to_str().unwrap().to_owned();
        (path(&cert_path), path(&key_path))
    }

    /// The CA certificate as rustls takes it.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }
}

/// A TLS listener on 127.0.0.1 presenting one certificate. Each handshake's outcome goes to a
/// channel; after a handshake it forwards the connection to `upstream`, if any.
pub struct TlsFront {
    pub addr: SocketAddr,
    handshakes: mpsc::UnboundedReceiver<Result<(), String>>,
}

impl TlsFront {
    pub async fn start(
        cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
        upstream: Option<SocketAddr>,
    ) -> Self {
        Self::serve(cert, None, upstream).await
    }

    /// Like [`start`](Self::start), but every client must present a certificate signed by
    /// `client_ca` (mutual TLS); a handshake without one fails.
    pub async fn requiring_client_cert(
        cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
        client_ca: CertificateDer<'static>,
        upstream: Option<SocketAddr>,
    ) -> Self {
        Self::serve(cert, Some(client_ca), upstream).await
    }

    async fn serve(
        cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
        client_ca: Option<CertificateDer<'static>>,
        upstream: Option<SocketAddr>,
    ) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(vec![cert.0], cert.1).unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, handshakes) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Err(error) => {
                            let _ = tx.send(Err(error.to_string()));
                        }
                        Ok(mut tls) => {
                            let _ = tx.send(Ok(()));
                            if let Some(upstream) = upstream
                                && let Ok(mut plain) = TcpStream::connect(upstream).await
                            {
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                            }
                        }
                    }
                });
            }
        });
        TlsFront { addr, handshakes }
    }

    /// The next handshake's outcome, failing the test after [`WAIT`].
    pub async fn next_handshake(&mut self) -> Result<(), String> {
        tokio::time::timeout(WAIT, self.handshakes.recv())
            .await
            .expect("timed out waiting for a TLS handshake")
            .expect("listener stopped")
    }
}
