//! The SSRF address classifier and URL check (`channels::http::classify_address`, `NetworkPolicy`).
//!
//! Input: one mode byte, then either 4 or 16 address bytes (and a prefix length), or a URL.
//! - mode 0: an IPv4 address (4 bytes);
//! - mode 1: an IPv6 address (16 bytes);
//! - mode 2: a URL (the rest, as UTF-8), through `NetworkPolicy::check_url`.
//!
//! Properties, beyond not panicking:
//! - every address the standard library calls loopback, private, link-local, unspecified,
//!   multicast, broadcast, documentation, shared (CGNAT) or benchmarking is refused;
//! - an IPv4 address has the same class in every IPv6 form that carries it (IPv4-mapped,
//!   IPv4-compatible, NAT64, 6to4);
//! - the default policy refuses exactly the non-public classes, and an allow-list entry
//!   covering the address lets it through;
//! - a URL the check accepts has an http(s) scheme, and if its host is an IP address (however
//!   spelled) that address is public.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use notification_router::channels::http::{AddressClass, NetworkPolicy, classify_address};
use url::{Host, Url};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let Some(octets) = rest.get(..4) else { return };
            let v4 = Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]);
            check_v4(v4);
            check_policy(IpAddr::V4(v4), rest.get(4).copied());
        }
        1 => {
            let Some(octets) = rest.get(..16) else { return };
            let octets: [u8; 16] = octets.try_into().expect("16 bytes");
            let v6 = Ipv6Addr::from(octets);
            check_v6(v6);
            check_policy(IpAddr::V6(v6), rest.get(16).copied());
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                check_url(text);
            }
        }
    }
});

fn check_v4(v4: Ipv4Addr) {
    let class = classify_address(IpAddr::V4(v4));
    let [a, b, _, _] = v4.octets();
    let non_public = v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240;
    if non_public {
        assert_ne!(class, AddressClass::Public, "{v4} is not public");
    }
    let [a, b, c, d] = v4.octets();
    let (high, low) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
    let carriers = [
        v4.to_ipv6_mapped(),
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, high, low),
        Ipv6Addr::new(0x2002, high, low, 0, 0, 0, 0, 1),
    ];
    for v6 in carriers {
        assert_eq!(
            classify_address(IpAddr::V6(v6)),
            class,
            "{v4} carried as {v6}"
        );
    }
    // IPv4-compatible `::a.b.c.d`, except `::` and `::1`, which are IPv6's own.
    let compatible = v4.to_ipv6_compatible();
    if !compatible.is_unspecified() && !compatible.is_loopback() {
        assert_eq!(
            classify_address(IpAddr::V6(compatible)),
            class,
            "{v4} as {compatible}"
        );
    }
}

fn check_v6(v6: Ipv6Addr) {
    let class = classify_address(IpAddr::V6(v6));
    let s = v6.segments();
    let non_public = v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || s[0] & 0xfe00 == 0xfc00
        || s[0] & 0xffc0 == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8);
    if non_public {
        assert_ne!(class, AddressClass::Public, "{v6} is not public");
    }
    if let Some(v4) = v6.to_ipv4_mapped() {
        assert_eq!(class, classify_address(IpAddr::V4(v4)), "{v6} maps {v4}");
    }
}

fn check_policy(ip: IpAddr, prefix: Option<u8>) {
    let class = classify_address(ip);
    let default = NetworkPolicy::default().check(ip);
    assert_eq!(
        default.is_ok(),
        class == AddressClass::Public,
        "{ip} ({class})"
    );
    if let Err(refused) = default {
        assert_eq!((refused.ip, refused.class), (ip, class));
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.map_or(max, |p| p % (max + 1));
    let net = ipnet::IpNet::new(ip, prefix).expect("valid prefix").trunc();
    assert_eq!(
        NetworkPolicy::new(vec![net]).check(ip),
        Ok(()),
        "{net} covers {ip}"
    );
}

fn check_url(text: &str) {
    let Ok(url) = Url::parse(text) else { return };
    let Ok(()) = NetworkPolicy::default().check_url(&url) else {
        return;
    };
    assert!(matches!(url.scheme(), "http" | "https"), "{url}");
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(name)) => match name.trim_end_matches('.').parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return,
        },
        None => panic!("{url} accepted without a host"),
    };
    assert_eq!(classify_address(ip), AddressClass::Public, "{url} accepted");
}
