//! The settings of one email destination, and the pure check that rejects bad ones at startup.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;
use url::{Host, Url};

use crate::secret::Secret;

/// Recipients per SMTP transaction unless configured (Event Notifications sends to 50 at once).
pub const DEFAULT_BATCH_SIZE: usize = 50;
/// The largest `batch_size` accepted; RFC 5321 only obliges servers to take 100 recipients, so
/// a larger batch relies on the server.
pub const MAX_BATCH_SIZE: usize = 1000;
/// How long connecting (TCP, before TLS and the greeting) may take unless configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one batch (connection, TLS, every command and the data) may take unless configured.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Pooled connections kept open unless configured.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4;

/// Whether an `smtp://` connection is upgraded with STARTTLS. `smtps://` always speaks TLS
/// from the first byte, so there only the default, `required`, is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Upgrade, or fail without sending anything when the server does not offer STARTTLS.
    #[default]
    Required,
    /// Upgrade when the server offers it, else go on in clear text (open to a downgrade by
    /// anyone on the path, so credentials are refused with it).
    Opportunistic,
    /// Clear text throughout: for a relay on the same host or a test server.
    Off,
}

/// Why email settings cannot work or would be unsafe; each message names the field and what
/// would be valid, and shows the server as `scheme://host:port`, never credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "`url` scheme `{0}` is not supported: use smtp:// (STARTTLS) or smtps:// (implicit TLS)"
    )]
    Scheme(String),
    #[error("`url` must not carry credentials: set `username` and `password` instead")]
    UrlCredentials,
    #[error("`url` {0} has no host")]
    NoHost(String),
    #[error("`url` {0}: write a non-ASCII host in its ASCII (xn--) form")]
    NonAsciiHost(String),
    #[error("`url` {0} must not have a path, query or fragment: STARTTLS is set with `starttls`")]
    UrlPath(String),
    #[error(
        "`starttls` cannot be `{starttls}` with {server}: smtps:// always uses TLS; use smtp:// to choose STARTTLS"
    )]
    StartTlsWithSmtps {
        starttls: &'static str,
        server: String,
    },
    #[error("`batch_size` must be between 1 and {MAX_BATCH_SIZE}, not {0}")]
    BatchSize(usize),
    #[error("`username` is set without `password`")]
    UsernameAlone,
    #[error("`password` is set without `username`")]
    PasswordAlone,
    #[error(
        "`password` would cross the network unencrypted with `starttls` {starttls} to {server}: use `starttls: required` or smtps://"
    )]
    Unencrypted {
        starttls: &'static str,
        server: String,
    },
    #[error("`connect_timeout` must be above zero")]
    ZeroConnectTimeout,
    #[error("`send_timeout` must be above zero")]
    ZeroSendTimeout,
    #[error("`max_connections` must be at least 1")]
    NoConnections,
}

/// One email destination: the SMTP server, credentials and sender. Built by config loading,
/// which calls [`EmailSettings::check`] before anything connects.
#[derive(Clone)]
pub struct EmailSettings {
    /// `smtp://host[:port]` (port 587, or 25 when `starttls` is off) or `smtps://host[:port]`
    /// (implicit TLS, port 465). Without credentials, path or query.
    pub url: Url,
    /// STARTTLS on `smtp://`; must stay `required` (the default) with `smtps://`.
    pub starttls: StartTls,
    pub username: Option<String>,
    /// Secret: `Debug` prints `****`; never logged nor put in an error message.
    pub password: Option<Secret>,
    /// `From` header and envelope sender; its display name can be replaced per message.
    pub from: Mailbox,
    /// `Reply-To` unless the message sets its own.
    pub reply_to: Option<Mailbox>,
    /// Recipients per SMTP transaction, 1 to [`MAX_BATCH_SIZE`].
    pub batch_size: usize,
    /// Limit on opening the TCP connection.
    pub connect_timeout: Duration,
    /// Limit on one batch: connecting, TLS, authentication and every transaction of it.
    pub send_timeout: Duration,
    /// Most pooled connections kept open to the server.
    pub max_connections: u32,
}

impl EmailSettings {
    /// Settings for `url` and `from` with every other field at its default: no credentials,
    /// STARTTLS required, batches of [`DEFAULT_BATCH_SIZE`].
    pub fn new(url: Url, from: Mailbox) -> EmailSettings {
        EmailSettings {
            url,
            starttls: StartTls::default(),
            username: None,
            password: None,
            from,
            reply_to: None,
            batch_size: DEFAULT_BATCH_SIZE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// Rejects settings that cannot work or would be unsafe, with a message naming the field
    /// and what would be valid. Pure: no network, no DNS.
    pub fn check(&self) -> Result<(), SettingsError> {
        let url = &self.url;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(SettingsError::Scheme(other.to_owned()));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SettingsError::UrlCredentials);
        }
        let server = self.server();
        match self.host() {
            None => return Err(SettingsError::NoHost(server)),
            Some(host) if host.contains('%') => {
                return Err(SettingsError::NonAsciiHost(server));
            }
            Some(_) => {}
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(SettingsError::UrlPath(server));
        }
        if implicit_tls && self.starttls != StartTls::Required {
            return Err(SettingsError::StartTlsWithSmtps {
                starttls: self.starttls.name(),
                server,
            });
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(SettingsError::BatchSize(self.batch_size));
        }
        match (&self.username, &self.password) {
            (Some(_), None) => return Err(SettingsError::UsernameAlone),
            (None, Some(_)) => return Err(SettingsError::PasswordAlone),
            (Some(_), Some(_)) if !self.tls_guaranteed() && !self.is_loopback() => {
                return Err(SettingsError::Unencrypted {
                    starttls: self.starttls.name(),
                    server,
                });
            }
            _ => {}
        }
        if self.connect_timeout.is_zero() {
            return Err(SettingsError::ZeroConnectTimeout);
        }
        if self.send_timeout.is_zero() {
            return Err(SettingsError::ZeroSendTimeout);
        }
        if self.max_connections == 0 {
            return Err(SettingsError::NoConnections);
        }
        Ok(())
    }

    /// The server as shown in messages and logs: `scheme://host:port`, never credentials.
    pub fn server(&self) -> String {
        let host = self.url.host_str().unwrap_or("");
        format!("{}://{host}:{}", self.url.scheme(), self.port())
    }

    /// Whether the whole session is encrypted: `smtps://`, or `smtp://` with STARTTLS required.
    pub(super) fn tls_guaranteed(&self) -> bool {
        self.implicit_tls() || self.starttls == StartTls::Required
    }

    pub(super) fn implicit_tls(&self) -> bool {
        self.url.scheme() == "smtps"
    }

    /// The host to connect to, IPv6 literals without brackets.
    pub(super) fn host(&self) -> Option<String> {
        match self.url.host()? {
            Host::Domain("") => None,
            Host::Domain(domain) => Some(domain.to_owned()),
            Host::Ipv4(ip) => Some(ip.to_string()),
            Host::Ipv6(ip) => Some(ip.to_string()),
        }
    }

    pub(super) fn port(&self) -> u16 {
        self.url
            .port()
            .unwrap_or(match (self.implicit_tls(), self.starttls) {
                (true, _) => 465,
                (false, StartTls::Off) => 25,
                (false, _) => 587,
            })
    }

    fn is_loopback(&self) -> bool {
        match self.url.host() {
            // smtp:// is not a special scheme to the URL parser, so IPv4 literals stay domains.
            Some(Host::Domain(domain)) => {
                domain.eq_ignore_ascii_case("localhost")
                    || domain.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }
}

impl StartTls {
    fn name(self) -> &'static str {
        match self {
            StartTls::Required => "required",
            StartTls::Opportunistic => "opportunistic",
            StartTls::Off => "off",
        }
    }
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("url", &self.server())
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("from", &self.from.to_string())
            .field("reply_to", &self.reply_to.as_ref().map(Mailbox::to_string))
            .field("batch_size", &self.batch_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("send_timeout", &self.send_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(text: &str) -> Mailbox {
        text.parse().expect("valid mailbox")
    }

    #[test]
    fn check_rejects_unusable_settings() {
        let base = || {
            EmailSettings::new(
                "smtp://mail.example.com".parse().expect("url"),
                mailbox("router@example.com"),
            )
        };
        let with_url = |url: &str| EmailSettings {
            url: url.parse().expect("url"),
            ..base()
        };
        let with_credentials = |url: &str, starttls: StartTls| EmailSettings {
            starttls,
            username: Some("router".to_owned()),
            password: Some("hunter2".into()),
            ..with_url(url)
        };
        let cases: Vec<(EmailSettings, &str)> = vec![
            (
                with_url("http://mail.example.com"),
                "`url` scheme `http` is not supported: use smtp:// (STARTTLS) or smtps:// (implicit TLS)",
            ),
            (
                with_url("smtp://router:hunter2@mail.example.com"),
                "`url` must not carry credentials: set `username` and `password` instead",
            ),
            (with_url("smtp:///x"), "`url` smtp://:587 has no host"),
            (
                with_url("smtp://mail.example.com/?tls=required"),
                "`url` smtp://mail.example.com:587 must not have a path, query or fragment: STARTTLS is set with `starttls`",
            ),
            (
                with_url("smtp://bücher.example"),
                "`url` smtp://b%C3%BCcher.example:587: write a non-ASCII host in its ASCII (xn--) form",
            ),
            (
                EmailSettings {
                    starttls: StartTls::Off,
                    ..with_url("smtps://mail.example.com")
                },
                "`starttls` cannot be `off` with smtps://mail.example.com:465: smtps:// always uses TLS; use smtp:// to choose STARTTLS",
            ),
            (
                EmailSettings {
                    batch_size: 0,
                    ..base()
                },
                "`batch_size` must be between 1 and 1000, not 0",
            ),
            (
                EmailSettings {
                    batch_size: 1001,
                    ..base()
                },
                "`batch_size` must be between 1 and 1000, not 1001",
            ),
            (
                EmailSettings {
                    username: Some("router".to_owned()),
                    ..base()
                },
                "`username` is set without `password`",
            ),
            (
                EmailSettings {
                    password: Some("hunter2".into()),
                    ..base()
                },
                "`password` is set without `username`",
            ),
            (
                with_credentials("smtp://mail.example.com", StartTls::Opportunistic),
                "`password` would cross the network unencrypted with `starttls` opportunistic to smtp://mail.example.com:587: use `starttls: required` or smtps://",
            ),
            (
                with_credentials("smtp://mail.example.com", StartTls::Off),
                "`password` would cross the network unencrypted with `starttls` off to smtp://mail.example.com:25: use `starttls: required` or smtps://",
            ),
            (
                EmailSettings {
                    send_timeout: Duration::ZERO,
                    ..base()
                },
                "`send_timeout` must be above zero",
            ),
            (
                EmailSettings {
                    connect_timeout: Duration::ZERO,
                    ..base()
                },
                "`connect_timeout` must be above zero",
            ),
            (
                EmailSettings {
                    max_connections: 0,
                    ..base()
                },
                "`max_connections` must be at least 1",
            ),
        ];
        for (settings, expected) in cases {
            assert_eq!(
                settings.check().map_err(|e| e.to_string()),
                Err(expected.to_owned()),
                "{settings:?}"
            );
        }

        let valid = [
            base(),
            with_url("smtps://mail.example.com:2465"),
            with_credentials("smtp://mail.example.com", StartTls::Required),
            with_credentials("smtps://mail.example.com", StartTls::Required),
            with_credentials("smtp://127.0.0.1:2525", StartTls::Off),
            with_credentials("smtp://localhost", StartTls::Opportunistic),
            with_credentials("smtp://[::1]:2525", StartTls::Off),
        ];
        for settings in valid {
            assert_eq!(settings.check(), Ok(()), "{settings:?}");
        }
    }

    #[test]
    fn default_ports_follow_the_scheme_and_starttls() {
        let cases = [
            (
                "smtp://mail.example.com",
                StartTls::Required,
                "smtp://mail.example.com:587",
            ),
            (
                "smtp://mail.example.com",
                StartTls::Opportunistic,
                "smtp://mail.example.com:587",
            ),
            (
                "smtp://mail.example.com",
                StartTls::Off,
                "smtp://mail.example.com:25",
            ),
            (
                "smtps://mail.example.com",
                StartTls::Required,
                "smtps://mail.example.com:465",
            ),
            (
                "smtp://mail.example.com:2525",
                StartTls::Off,
                "smtp://mail.example.com:2525",
            ),
        ];
        for (url, starttls, expected) in cases {
            let settings = EmailSettings {
                starttls,
                ..EmailSettings::new(url.parse().expect("url"), mailbox("router@example.com"))
            };
            assert_eq!(settings.server(), expected);
        }
    }

    #[test]
    fn starttls_deserialises_lowercase_with_required_by_default() {
        #[derive(serde::Deserialize)]
        struct Holder {
            #[serde(default)]
            starttls: StartTls,
        }
        let parse = |json: &str| serde_json::from_str::<Holder>(json).map(|h| h.starttls);
        assert_eq!(parse("{}").expect("default"), StartTls::Required);
        assert_eq!(
            parse(r#"{"starttls": "opportunistic"}"#).expect("valid"),
            StartTls::Opportunistic
        );
        assert_eq!(
            parse(r#"{"starttls": "off"}"#).expect("valid"),
            StartTls::Off
        );
        assert!(parse(r#"{"starttls": "Required"}"#).is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let settings = EmailSettings {
            username: Some("router".to_owned()),
            password: Some("hunter2".into()),
            ..EmailSettings::new(
                "smtps://mail.example.com".parse().expect("url"),
                mailbox("Router <router@example.com>"),
            )
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("password: Some(****)"), "{shown}");
        assert!(shown.contains(r#"username: Some("router")"#), "{shown}");
    }
}
