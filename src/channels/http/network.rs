//! Which addresses outbound webhook and Slack requests may reach: the classifier of IP addresses
//! and the policy that refuses every non-public class unless `http.allow_private_networks`
//! covers the address. Pure: the resolver and the client in `http` apply it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// What kind of address an IP is, for the policy; everything but [`Public`](Self::Public) is
/// refused unless allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`, and IPv6 site-local `fec0::/10`.
    Private,
    /// `169.254/16` (cloud metadata services live at `169.254.169.254`), `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT, `100.64/10`.
    SharedAddressSpace,
    /// `0.0.0.0/8` and `::` (connecting to them reaches this host).
    Unspecified,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// IPv6 unique local addresses, `fc00::/7`.
    UniqueLocal,
    /// Reserved, benchmarking and protocol ranges: `240/4`, `192.0.0/24`, `198.18/15`,
    /// `100::/64`, `2001::/23`.
    Reserved,
}

impl AddressClass {
    /// How the class is named in errors.
    pub fn name(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::LinkLocal => "link-local",
            AddressClass::SharedAddressSpace => "carrier-grade NAT (100.64.0.0/10)",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Documentation => "documentation",
            AddressClass::UniqueLocal => "unique local (fc00::/7)",
            AddressClass::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The class of `ip`. An IPv6 address that carries an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) has the class of the
/// IPv4 address it reaches.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressClass::Private,
        (169, 254, _) => AddressClass::LinkLocal,
        (100, 64..=127, _) => AddressClass::SharedAddressSpace,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (192, 0, 0) | (198, 18..=19, _) => AddressClass::Reserved,
        (224..=239, _, _) => AddressClass::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => AddressClass::Broadcast,
        (240..=255, _, _) => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let segments = ip.segments();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if segments[0] & 0xfe00 == 0xfc00 {
        AddressClass::UniqueLocal
    } else if segments[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if segments[0] & 0xffc0 == 0xfec0 {
        AddressClass::Private
    } else if segments[0] & 0xff00 == 0xff00 {
        AddressClass::Multicast
    } else if (segments[0] == 0x2001 && segments[1] == 0x0db8) || segments[0] & 0xfff0 == 0x3ff0 {
        AddressClass::Documentation
    } else if (segments[0] == 0x0064 && segments[1] == 0xff9b && segments[2] == 0x0001)
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0])
        || (segments[0] == 0x2001 && segments[1] < 0x0200)
    {
        // Local-use NAT64 (64:ff9b:1::/48), discard-only (100::/64), IETF protocol assignments
        // (2001::/23, Teredo included).
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address an IPv6 one reaches, for the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // IPv4-compatible ::a.b.c.d (deprecated); `::` and `::1` are IPv6's own.
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_unspecified() && !ip.is_loopback() => Some(low),
        // NAT64 well-known prefix 64:ff9b::/96
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 6to4 2002:a.b.c.d::/48
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// An address the policy refuses, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub ip: IpAddr,
    pub class: AddressClass,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ip, self.class)
    }
}

/// Public addresses, plus the networks listed in `http.allow_private_networks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    allowed: Vec<IpNet>,
}

impl NetworkPolicy {
    pub fn new(allowed: Vec<IpNet>) -> NetworkPolicy {
        NetworkPolicy { allowed }
    }

    /// Ok for a public address or one an allowed network covers (an IPv4-mapped address is
    /// covered by its IPv4 network too).
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let class = classify(ip);
        if class == AddressClass::Public {
            return Ok(());
        }
        let canonical = ip.to_canonical();
        if self
            .allowed
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return Ok(());
        }
        Err(Refused { ip, class })
    }

    /// The check of a URL before any request: http or https, and a host that is either a name
    /// (checked when it resolves) or an IP address the policy accepts. The `url` crate has
    /// already turned odd IPv4 spellings (`2130706433`, `0x7f.1`, `127.1`) into the address.
    pub fn check_url(&self, url: &Url) -> Result<(), UrlRefused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlRefused::Scheme(url.scheme().to_owned()));
        }
        let ip = match url.host() {
            None => return Err(UrlRefused::NoHost),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(name)) => match name.trim_end_matches('.').parse::<IpAddr>() {
                Ok(ip) => ip,
                Err(_) => return Ok(()),
            },
        };
        self.check(ip).map_err(UrlRefused::Address)
    }
}

/// Why [`NetworkPolicy::check_url`] refuses a URL before any request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("{}", refused_message(.0))]
    Address(Refused),
}

/// The message for a refused address, with the way to allow it.
pub(super) fn refused_message(refused: &Refused) -> String {
    format!(
        "{refused} is not a public address: refused unless http.allow_private_networks covers it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn classifies_every_blocked_range_and_public_neighbours() {
        use AddressClass::*;
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("192.168.1.1", Private),
            ("169.254.169.254", LinkLocal),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("100.128.0.1", Public),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.8", Reserved),
            ("198.18.0.1", Reserved),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.99", Documentation),
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("100::1", Reserved),
            ("2001::1", Reserved),
            ("64:ff9b:1::1", Reserved),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::808:808", Public),
            ("2002:7f00:1::", Loopback),
            ("2002:c0a8:101::1", Private),
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001::200e", Public),
        ];
        for (text, expected) in cases {
            assert_eq!(classify(ip(text)), expected, "{text}");
        }
    }

    #[test]
    fn the_allow_list_lets_its_networks_through_only() {
        let policy = NetworkPolicy::new(vec![
            "127.0.0.0/8".parse().expect("cidr"),
            "fd00::/8".parse().expect("cidr"),
        ]);
        for allowed in [
            "127.0.0.1",
            "127.9.9.9",
            "::ffff:127.0.0.1",
            "fd00::5",
            "8.8.8.8",
        ] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
        for refused in ["::1", "10.0.0.1", "169.254.169.254", "fc00::1"] {
            assert!(policy.check(ip(refused)).is_err(), "{refused}");
        }
        assert_eq!(
            NetworkPolicy::default().check(ip("127.0.0.1")),
            Err(Refused {
                ip: ip("127.0.0.1"),
                class: AddressClass::Loopback
            })
        );
    }

    #[test]
    fn urls_with_odd_ip_spellings_are_checked_as_the_address_they_mean() {
        let policy = NetworkPolicy::default();
        let refused = [
            ("http://127.0.0.1/x", "127.0.0.1 (loopback)"),
            ("http://2130706433/x", "127.0.0.1 (loopback)"),
            ("http://0x7f.1/x", "127.0.0.1 (loopback)"),
            ("http://0177.0.0.1/x", "127.0.0.1 (loopback)"),
            ("http://127.1/x", "127.0.0.1 (loopback)"),
            ("http://0/x", "0.0.0.0 (unspecified)"),
            ("https://[::1]:8443/x", "::1 (loopback)"),
            ("http://[::ffff:127.0.0.1]/x", "::ffff:127.0.0.1 (loopback)"),
            ("http://[::ffff:7f00:1]/x", "::ffff:127.0.0.1 (loopback)"),
            (
                "http://169.254.169.254/latest/meta-data/",
                "169.254.169.254 (link-local)",
            ),
            ("http://[fe80::1%25eth0]/x", ""),
            ("http://100.100.100.200/x", "100.100.100.200 (carrier-grade"),
            ("http://10.0.0.1/x", "10.0.0.1 (private)"),
            ("http://[fd00::1]/x", "fd00::1 (unique local"),
            ("http://224.0.0.1/x", "224.0.0.1 (multicast)"),
            ("http://255.255.255.255/x", "255.255.255.255 (broadcast)"),
            ("http://192.0.2.1/x", "192.0.2.1 (documentation)"),
        ];
        for (text, expected) in refused {
            let Ok(url) = Url::parse(text) else {
                // A zone id is not valid in a URL host: such a URL cannot even be configured.
                assert!(expected.is_empty(), "{text} should parse");
                continue;
            };
            let error = policy.check_url(&url).expect_err(text).to_string();
            assert!(error.starts_with(expected), "{text}: {error}");
            assert!(
                error.ends_with("refused unless http.allow_private_networks covers it"),
                "{error}"
            );
        }
        for allowed in [
            "https://example.com/hook",
            "https://8.8.8.8/x",
            "http://localhost/x",
        ] {
            let url = Url::parse(allowed).expect("valid");
            assert_eq!(
                policy.check_url(&url),
                Ok(()),
                "{allowed} (names are checked when resolved)"
            );
        }
        let ftp = Url::parse("ftp://example.com/x").expect("valid");
        assert_eq!(
            policy.check_url(&ftp),
            Err(UrlRefused::Scheme("ftp".to_owned()))
        );
        assert_eq!(
            policy.check_url(&ftp).map_err(|e| e.to_string()),
            Err("scheme \"ftp\" is not http or https".to_owned())
        );
    }
}
