//! The authentication code on records the router writes to its own topics (the retry topic and
//! the dead-letter topic): an HMAC-SHA256 under `kafka.internal_key` over the record's topic,
//! key, value and headers, in a header of its own. A record the router reads back from those
//! topics — to deliver it, signed with a destination's secret — must carry a valid one: anyone
//! else able to write to Kafka cannot make one.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::KafkaSettings;

/// The header holding a record's authentication code (base64).
pub const AUTH_HEADER: &str = "router-auth";

/// The shortest `kafka.internal_key`, in bytes: 256 bits of a random base64 or hex string.
pub const MIN_KEY_BYTES: usize = 32;

/// What is authenticated is labelled, so a code made for anything else never matches.
const LABEL: &[u8] = b"notification-router internal record v1\0";

/// The key the router signs and checks its internal records with; cheap to clone, never shown.
#[derive(Clone)]
pub struct InternalKey(Arc<[u8]>);

/// Why a record read back is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthentic {
    Missing,
    Invalid,
}

impl fmt::Display for Unauthentic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unauthentic::Missing => {
                "the record carries no authentication code: the router did not write it"
            }
            Unauthentic::Invalid => {
                "the record's authentication code is not valid: it was not written by a router \
                 with this kafka.internal_key, or it was changed since"
            }
        })
    }
}

impl InternalKey {
    pub fn new(key: &[u8]) -> Self {
        Self(key.into())
    }

    /// The key of `kafka.internal_key`; without one (allowed with the embedded broker only,
    /// whose records live as long as the process) a random key of this process, the same for
    /// every caller.
    pub fn of(settings: &KafkaSettings) -> Self {
        static PROCESS_KEY: std::sync::OnceLock<InternalKey> = std::sync::OnceLock::new();
        match settings.internal_key.as_ref().filter(|k| !k.is_empty()) {
            Some(key) => Self::new(key.expose().as_bytes()),
            None => PROCESS_KEY
                .get_or_init(|| Self::new(&rand::random::<[u8; 32]>()))
                .clone(),
        }
    }

    /// The authentication code of a record of `topic`, over every header given (which must
    /// not include [`AUTH_HEADER`]), in order.
    pub fn sign(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> String {
        STANDARD.encode(self.mac(topic, key, value, headers).finalize().into_bytes())
    }

    /// Checks a record read back: exactly one [`AUTH_HEADER`] among `headers`, valid over the
    /// others (compared in constant time).
    pub fn verify(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<(), Unauthentic> {
        let mut codes = headers.iter().filter(|(name, _)| *name == AUTH_HEADER);
        let code = match (codes.next(), codes.next()) {
            (Some((_, Some(code))), None) => code,
            (None, _) => return Err(Unauthentic::Missing),
            _ => return Err(Unauthentic::Invalid),
        };
        let code = STANDARD.decode(code).map_err(|_| Unauthentic::Invalid)?;
        let others: Vec<(&str, Option<&[u8]>)> = headers
            .iter()
            .filter(|(name, _)| *name != AUTH_HEADER)
            .copied()
            .collect();
        self.mac(topic, key, value, &others)
            .verify_slice(&code)
            .map_err(|_| Unauthentic::Invalid)
    }

    fn mac(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(LABEL);
        // Every part with its length (and whether it is there): no two records feed the same
        // bytes.
        let mut part = |bytes: Option<&[u8]>| match bytes {
            None => mac.update(&[0]),
            Some(bytes) => {
                mac.update(&[1]);
                mac.update(&(bytes.len() as u64).to_be_bytes());
                mac.update(bytes);
            }
        };
        part(Some(topic.as_bytes()));
        part(key);
        part(value);
        part(Some(&(headers.len() as u64).to_be_bytes()));
        for (name, value) in headers {
            part(Some(name.as_bytes()));
            part(*value);
        }
        mac
    }
}

impl fmt::Debug for InternalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InternalKey(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "router.retry";

    #[test]
    fn a_record_verifies_only_unchanged_and_under_the_same_key() {
        let key = InternalKey::new(b"0123456789abcdef0123456789abcdef");
        let headers = [("retry-due", Some(&b"2026-12-02T05:00:00Z"[..]))];
        let code = key.sign(TOPIC, Some(b"msg_1"), Some(b"{}"), &headers);
        fn with_code<'a>(
            headers: &[(&'a str, Option<&'a [u8]>)],
            code: &'a str,
        ) -> Vec<(&'a str, Option<&'a [u8]>)> {
            let mut all = headers.to_vec();
            all.push((AUTH_HEADER, Some(code.as_bytes())));
            all
        }
        let signed = |code| with_code(&headers, code);
        let verify = |key: &InternalKey, topic, k: &[u8], value: Option<&[u8]>, h: &[_]| {
            key.verify(topic, Some(k), value, h)
        };
        assert_eq!(
            verify(&key, TOPIC, b"msg_1", Some(b"{}"), &signed(&code)),
            Ok(())
        );
        let invalid = Err(Unauthentic::Invalid);
        assert_eq!(
            verify(&key, TOPIC, b"msg_2", Some(b"{}"), &signed(&code)),
            invalid
        );
        assert_eq!(
            verify(&key, TOPIC, b"msg_1", Some(b"{ }"), &signed(&code)),
            invalid
        );
        assert_eq!(verify(&key, TOPIC, b"msg_1", None, &signed(&code)), invalid);
        assert_eq!(
            verify(
                &key,
                "router.dead-letter",
                b"msg_1",
                Some(b"{}"),
                &signed(&code)
            ),
            invalid
        );
        let mut later = signed(&code);
        later[0].1 = Some(b"2026-12-02T06:00:00Z");
        assert_eq!(verify(&key, TOPIC, b"msg_1", Some(b"{}"), &later), invalid);
        let mut added = signed(&code);
        added.push(("dlq-pending", Some(b"[]")));
        assert_eq!(verify(&key, TOPIC, b"msg_1", Some(b"{}"), &added), invalid);
        let other = InternalKey::new(b"another key of thirty-two bytes!");
        assert_eq!(
            verify(&other, TOPIC, b"msg_1", Some(b"{}"), &signed(&code)),
            invalid
        );
        assert_eq!(
            verify(&key, TOPIC, b"msg_1", Some(b"{}"), &signed("bm90IGEgbWFj")),
            invalid
        );
        assert_eq!(
            verify(&key, TOPIC, b"msg_1", Some(b"{}"), &headers),
            Err(Unauthentic::Missing)
        );
        let mut twice = signed(&code);
        twice.push((AUTH_HEADER, Some(code.as_bytes())));
        assert_eq!(verify(&key, TOPIC, b"msg_1", Some(b"{}"), &twice), invalid);
    }

    #[test]
    fn the_key_is_never_shown() {
        let key = InternalKey::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(format!("{key:?}"), "InternalKey(****)");
    }
}
