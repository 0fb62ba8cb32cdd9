//! [`Secret`]: a password, token, key or secret URL that `Debug`, `Display` and logs show as `****`.
//!
//! Secrets come from `${VAR}` interpolation in the config files and are held in this type from
//! deserialisation on, so a `{:?}` of any config struct, a log field or an error message built
//! with `{}` cannot print one. The value is reached only through [`Secret::expose`], where it is
//! sent. [`scrub`] removes known secrets from text that came from elsewhere (a receiver's answer
//! that echoes a header back) before it is logged or written to the dead-letter topic.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// What a secret is shown as.
pub const REDACTED: &str = "****";

/// A value never printed: `Debug` and `Display` write `****`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl Secret<String> {
    /// True when no value was given (`${VAR:-}` left an empty string).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// Secrets shorter than this are not scrubbed: replacing them would mangle the text while
/// protecting nothing (and an empty one would match everywhere).
const SHORTEST_SCRUBBED: usize = 4;

/// `text` with every occurrence of each of `secrets` replaced by `****`.
pub fn scrub<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.len() >= SHORTEST_SCRUBBED && out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::from("hunter2-canary");
        assert_eq!(format!("{secret:?}"), "****");
        assert_eq!(format!("{secret}"), "****");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(****)");
        assert_eq!(secret.expose(), "hunter2-canary");
    }

    #[test]
    fn deserialises_transparently() {
        #[derive(Debug, Deserialize)]
        struct Holder {
            password: Secret,
            keys: Vec<Secret>,
        }
        let holder: Holder =
            serde_json::from_str(r#"{"password": "p4ss-word", "keys": ["k1-canary"]}"#)
                .expect("valid");
        assert_eq!(holder.password.expose(), "p4ss-word");
        assert_eq!(holder.keys[0].expose(), "k1-canary");
        let shown = format!("{holder:?}");
        assert!(
            !shown.contains("p4ss") && !shown.contains("canary"),
            "{shown}"
        );
    }

    #[test]
    fn scrub_replaces_every_occurrence_of_long_enough_secrets() {
        let text = "echo: authorization: Bearer tok-123; again tok-123; ab";
        assert_eq!(
            scrub(text, ["tok-123", "ab", ""]),
            "echo: authorization: Bearer ****; again ****; ab"
        );
        assert_eq!(scrub("nothing here", ["tok-123"]), "nothing here");
    }
}
