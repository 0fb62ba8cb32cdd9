//! `tls` of an HTTP destination: a client certificate for receivers that require mutual TLS,
//! and an extra certificate authority to trust, read from PEM files when the configuration is
//! loaded.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::secret::Secret;

/// `tls` as `router.yaml` writes it: paths of PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The client certificate (chain), with `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// A certificate authority (bundle) trusted besides the public ones, for a receiver with a
    /// private CA.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

/// The checked `tls`: the identity and CA certificates, ready for the client.
#[derive(Clone)]
pub struct ClientTls {
    /// The certificate chain and key, PEM; the key makes it a secret.
    pub identity: Option<Secret<Vec<u8>>>,
    pub ca: Vec<reqwest::Certificate>,
    /// The files, for people.
    pub shown: String,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("files", &self.shown)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads and checks the files; on error the field (under `tls`) and the reason.
    pub fn load(&self) -> Result<ClientTls, (&'static str, String)> {
        let read = |field: &'static str, path: &PathBuf| {
            std::fs::read(path).map_err(|e| (field, format!("cannot read {}: {e}", path.display())))
        };
        let identity = match (&self.client_cert, &self.client_key) {
            (None, None) => None,
            (Some(_), None) => return Err(("tls.client_key", "is needed with client_cert".into())),
            (None, Some(_)) => return Err(("tls.client_cert", "is needed with client_key".into())),
            (Some(cert), Some(key)) => {
                let mut pem = read("tls.client_cert", cert)?;
                if !pem.ends_with(b"\n") {
                    pem.push(b'\n');
                }
                pem.extend(read("tls.client_key", key)?);
                reqwest::Identity::from_pem(&pem).map_err(|e| {
                    let why = format!(
                        "{} and {} are not a PEM certificate and its key: {e}",
                        cert.display(),
                        key.display()
                    );
                    ("tls.client_cert", why)
                })?;
                Some(Secret::new(pem))
            }
        };
        let ca = match &self.ca {
            None => Vec::new(),
            Some(path) => {
                let pem = read("tls.ca", path)?;
                let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    (
                        "tls.ca",
                        format!("{} is not PEM certificates: {e}", path.display()),
                    )
                })?;
                if certificates.is_empty() {
                    return Err(("tls.ca", format!("{} holds no certificate", path.display())));
                }
                certificates
            }
        };
        if identity.is_none() && ca.is_empty() {
            return Err((
                "tls",
                "sets neither client_cert and client_key nor ca".into(),
            ));
        }
        let files: Vec<String> = [&self.client_cert, &self.ca]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .collect();
        Ok(ClientTls {
            identity,
            ca,
            shown: files.join(", "),
        })
    }
}
