//! Standard Webhooks signatures: `v1,` HMAC-SHA256 with `whsec_` secrets and `v1a,` ed25519 with
//! `whsk_` keys, over `{webhook-id}.{webhook-timestamp}.{body}`.
//!
//! A destination may hold several secrets and several keys: each signs every request, and
//! `webhook-signature` lists them all, space-separated. That is how a secret is rotated: add the
//! new one, let receivers switch to it (a receiver accepts a request when any signature matches),
//! then remove the old one. Receivers verify with the `standardwebhooks` libraries.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// The prefix of a symmetric secret: `whsec_` and the base64 of 24 to 64 random bytes.
pub const SECRET_PREFIX: &str = "whsec_";
/// The prefix of an ed25519 private key: `whsk_` and the base64 of its 32-byte seed.
pub const PRIVATE_KEY_PREFIX: &str = "whsk_";
/// The prefix of an ed25519 public key: `whpk_` and the base64 of its 32 bytes.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// The bytes of a symmetric secret, as Standard Webhooks bounds them.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Why a destination's secrets or keys cannot be used; it names the list and the position,
/// never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("secrets[{index}] {problem}")]
    Secret {
        index: usize,
        problem: SecretProblem,
    },
    #[error("keys[{index}] {problem}")]
    Key { index: usize, problem: KeyProblem },
}

/// What is wrong with a `whsec_` secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    #[error("must start with {SECRET_PREFIX} (a Standard Webhooks secret)")]
    Prefix,
    #[error("is not {SECRET_PREFIX} followed by base64")]
    Base64,
    #[error(
        "holds {0} bytes; a secret holds 24 to 64 (`notification-router keys generate --secret` \
         makes one)"
    )]
    Length(usize),
}

/// What is wrong with a `whsk_` private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error(
        "must start with {PRIVATE_KEY_PREFIX} (an ed25519 private key; \
         `notification-router keys generate` makes one)"
    )]
    Prefix,
    #[error("is not {PRIVATE_KEY_PREFIX} followed by the base64 of 32 bytes")]
    Seed,
}

/// Every secret and key of one destination; signs nothing when empty.
#[derive(Clone, Default)]
pub struct Signer {
    secrets: Vec<Secret<Vec<u8>>>,
    keys: Vec<Secret<SigningKey>>,
}

impl Signer {
    /// Parses `whsec_` secrets and `whsk_` keys; empty values (an unset `${VAR:-}`) are left
    /// out. An error names the list and the position, never the value.
    pub fn new(secrets: &[Secret], keys: &[Secret]) -> Result<Signer, SigningError> {
        let secrets = secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(index, s)| {
                parse_secret(s.expose()).map_err(|problem| SigningError::Secret { index, problem })
            })
            .collect::<Result<_, _>>()?;
        let keys = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
            .map(|(index, k)| {
                parse_private_key(k.expose())
                    .map_err(|problem| SigningError::Key { index, problem })
            })
            .collect::<Result<_, _>>()?;
        Ok(Signer { secrets, keys })
    }

    /// True when there is nothing to sign with.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.keys.is_empty()
    }

    /// The `webhook-signature` value: one `v1,` signature per secret, then one `v1a,` per key.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut signed = Vec::with_capacity(id.len() + body.len() + 24);
        signed.extend_from_slice(id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(timestamp.to_string().as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        let symmetric = self.secrets.iter().map(|secret| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose())
                .expect("HMAC takes a key of any length");
            mac.update(&signed);
            format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
        });
        let asymmetric = self.keys.iter().map(|key| {
            format!(
                "v1a,{}",
                BASE64.encode(key.expose().sign(&signed).to_bytes())
            )
        });
        symmetric.chain(asymmetric).collect::<Vec<_>>().join(" ")
    }

    /// What [`sign`](Self::sign) would send, with each signature described instead of computed.
    pub fn preview(&self) -> String {
        let symmetric = self
            .secrets
            .iter()
            .map(|_| "v1,<HMAC-SHA256 when sent>".to_owned());
        let asymmetric = self
            .keys
            .iter()
            .map(|_| "v1a,<ed25519 when sent>".to_owned());
        symmetric.chain(asymmetric).collect::<Vec<_>>().join(" ")
    }

    /// The `whpk_` public key of each private key, in order.
    pub fn public_keys(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| public_key_text(&key.expose().verifying_key().to_bytes()))
            .collect()
    }

    /// How many symmetric secrets sign.
    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("secrets", &self.secrets)
            .field("public_keys", &self.public_keys())
            .finish()
    }
}

/// A new ed25519 key pair: (`whsk_` private key, `whpk_` public key).
pub fn generate_key_pair() -> (Secret, String) {
    let seed: [u8; 32] = rand::random();
    let key = SigningKey::from_bytes(&seed);
    (
        Secret::new(format!("{PRIVATE_KEY_PREFIX}{}", BASE64.encode(seed))),
        public_key_text(&key.verifying_key().to_bytes()),
    )
}

/// A new symmetric secret: `whsec_` and 32 random bytes.
pub fn generate_secret() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(format!("{SECRET_PREFIX}{}", BASE64.encode(bytes)))
}

fn public_key_text(bytes: &[u8; 32]) -> String {
    format!("{PUBLIC_KEY_PREFIX}{}", BASE64.encode(bytes))
}

fn parse_secret(text: &str) -> Result<Secret<Vec<u8>>, SecretProblem> {
    let encoded = text
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretProblem::Prefix)?;
    let bytes = BASE64.decode(encoded).map_err(|_| SecretProblem::Base64)?;
    if !SECRET_BYTES.contains(&bytes.len()) {
        return Err(SecretProblem::Length(bytes.len()));
    }
    Ok(Secret::new(bytes))
}

fn parse_private_key(text: &str) -> Result<Secret<SigningKey>, KeyProblem> {
    let encoded = text
        .strip_prefix(PRIVATE_KEY_PREFIX)
        .ok_or(KeyProblem::Prefix)?;
    let seed: [u8; 32] = BASE64
        .decode(encoded)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(KeyProblem::Seed)?;
    Ok(Secret::new(SigningKey::from_bytes(&seed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference example (its Rust library's `test_sign`).
    #[test]
    fn signs_the_reference_example() {
        let signer = Signer::new(&["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()], &[])
            .expect("valid secret");
        assert_eq!(
            signer.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn every_secret_and_key_signs_in_order() {
        let (private, public) = generate_key_pair();
        let signer = Signer::new(
            &[generate_secret(), generate_secret()],
            &[private.expose().as_str().into()],
        )
        .expect("valid");
        let header = signer.sign("msg_1", 1, b"{}");
        let versions: Vec<&str> = header
            .split(' ')
            .map(|s| s.split_once(',').expect("version,signature").0)
            .collect();
        assert_eq!(versions, ["v1", "v1", "v1a"]);
        assert_eq!(signer.public_keys(), [public]);
        assert_eq!(
            signer.preview(),
            "v1,<HMAC-SHA256 when sent> v1,<HMAC-SHA256 when sent> v1a,<ed25519 when sent>"
        );
        assert_eq!(Signer::default().sign("msg_1", 1, b"{}"), "");
    }

    #[test]
    fn bad_secrets_and_keys_are_named_by_position_never_shown() {
        let short = format!("{SECRET_PREFIX}{}", BASE64.encode([7u8; 23]));
        let cases: [(&[&str], &[&str], &str); 5] = [
            (
                &["sekrit-canary"],
                &[],
                "secrets[0] must start with whsec_ (a Standard Webhooks secret)",
            ),
            (
                &["whsec_!!canary!!"],
                &[],
                "secrets[0] is not whsec_ followed by base64",
            ),
            (
                &[short.as_str()],
                &[],
                "secrets[0] holds 23 bytes; a secret holds 24 to 64 (`notification-router keys \
                 generate --secret` makes one)",
            ),
            (
                &[],
                &["whpk_canary"],
                "keys[0] must start with whsk_ (an ed25519 private key; `notification-router keys \
                 generate` makes one)",
            ),
            (
                &[],
                &["whsk_Y2FuYXJ5"],
                "keys[0] is not whsk_ followed by the base64 of 32 bytes",
            ),
        ];
        for (secrets, keys, expected) in cases {
            let secrets: Vec<Secret> = secrets.iter().map(|s| (*s).into()).collect();
            let keys: Vec<Secret> = keys.iter().map(|s| (*s).into()).collect();
            let error = Signer::new(&secrets, &keys).expect_err("invalid");
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn debug_shows_public_keys_only() {
        let (private, public) = generate_key_pair();
        let secret = generate_secret();
        let signer = Signer::new(
            std::slice::from_ref(&secret),
            &[private.expose().as_str().into()],
        )
        .expect("valid");
        let shown = format!("{signer:?}");
        assert_eq!(
            shown,
            format!("Signer {{ secrets: [****], public_keys: [{public:?}] }}")
        );
        assert!(!shown.contains(&private.expose()[5..]));
    }
}
