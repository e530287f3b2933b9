//! The outbound URL guard (`inputImageUrl`, webhook URLs). Whatever the
//! text, a URL the guard accepts uses an allowed scheme, carries no
//! credentials, reads the same when checked again, and names either a host
//! name or an address on the public internet: never a loopback, private,
//! link-local or otherwise internal one, in any spelling the URL parser
//! understands. The local stack may add loopback and plain `http`, nothing
//! else.
//!
//! The forbidden ranges are written here as a table of CIDR blocks, apart
//! from the guard's own code, so the two can disagree.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use shared::netguard::{UrlPolicy, address_allowed, check_url};
use url::{Host, Url};

/// IPv4 blocks that are not the public internet (RFC 6890 and friends).
pub const FORBIDDEN_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// IPv6 blocks that are not the public internet.
pub const FORBIDDEN_V6: [(Ipv6Addr, u8); 14] = [
    (Ipv6Addr::UNSPECIFIED, 128),
    (Ipv6Addr::LOCALHOST, 128),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
];

/// Host names that mean this machine or the cloud's internal services.
const INTERNAL_NAMES: [&str; 2] = ["localhost", "metadata"];
const INTERNAL_SUFFIXES: [&str; 3] = [".localhost", ".internal", ".local"];

pub fn check(data: &[u8]) {
    check_text(&String::from_utf8_lossy(data));
}

pub fn check_text(raw: &str) {
    let production = check_url(raw, UrlPolicy::Production);
    let local = check_url(raw, UrlPolicy::Local);
    if let Ok(url) = &production {
        assert_safe(url, UrlPolicy::Production);
        assert_eq!(
            local.as_ref().ok(),
            Some(url),
            "the local stack refused what production accepts"
        );
    }
    if let Ok(url) = &local {
        assert_safe(url, UrlPolicy::Local);
    }
}

/// The guard's verdict on an address it meets after DNS resolution agrees
/// with the table.
pub fn check_address(ip: IpAddr) {
    if address_allowed(ip, UrlPolicy::Production) {
        assert!(!is_forbidden(ip), "{ip} is internal but allowed");
    }
    if address_allowed(ip, UrlPolicy::Local) {
        assert!(
            !is_forbidden(ip) || is_loopback(ip),
            "{ip} is internal but allowed locally"
        );
    }
}

fn assert_safe(url: &Url, policy: UrlPolicy) {
    let schemes: &[&str] = match policy {
        UrlPolicy::Production => &["https"],
        UrlPolicy::Local => &["https", "http"],
    };
    assert!(
        schemes.contains(&url.scheme()),
        "{url}: scheme allowed by mistake"
    );
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "{url}: credentials allowed"
    );
    let again = check_url(url.as_str(), policy)
        .unwrap_or_else(|e| panic!("{url} refused when checked again: {e}"));
    assert_eq!(&again, url, "checking again changed the URL");
    let loopback_ok = policy == UrlPolicy::Local;
    match url.host() {
        None => panic!("{url}: accepted without a host"),
        Some(Host::Ipv4(ip)) => assert_public(IpAddr::V4(ip), loopback_ok, url),
        Some(Host::Ipv6(ip)) => assert_public(IpAddr::V6(ip), loopback_ok, url),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let internal = INTERNAL_NAMES.contains(&name.as_str())
                || INTERNAL_SUFFIXES.iter().any(|s| name.ends_with(s));
            let local_name = name == "localhost" || name.ends_with(".localhost");
            assert!(
                !internal || (loopback_ok && local_name),
                "{url}: internal name accepted"
            );
        }
    }
}

fn assert_public(ip: IpAddr, loopback_ok: bool, url: &Url) {
    assert!(
        !is_forbidden(ip) || (loopback_ok && is_loopback(ip)),
        "{url}: internal address {ip} accepted"
    );
    check_address(ip);
}

fn is_loopback(ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => {
            return v6 == Ipv6Addr::LOCALHOST
                || carried_v4(v6).is_some_and(|v4| is_loopback(IpAddr::V4(v4)));
        }
    };
    in_block_v4(v4, (Ipv4Addr::new(127, 0, 0, 0), 8))
}

/// Whether the table forbids `ip`, judging IPv6 forms that carry an IPv4
/// address by that address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => FORBIDDEN_V4.iter().any(|block| in_block_v4(v4, *block)),
        IpAddr::V6(v6) => {
            FORBIDDEN_V6.iter().any(|block| in_block_v6(v6, *block))
                || carried_v4(v6).is_some_and(|v4| is_forbidden(IpAddr::V4(v4)))
        }
    }
}

/// The IPv4 address inside IPv4-mapped (`::ffff:0:0/96`), SIIT
/// (`::ffff:0:0:0/96`), IPv4-compatible
/// (`::/96`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses.
fn carried_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from(bits as u32);
    let prefixes_carrying_low32 = [
        (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96),
        (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96),
        (Ipv6Addr::UNSPECIFIED, 96),
        (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96),
    ];
    if prefixes_carrying_low32
        .iter()
        .any(|block| in_block_v6(v6, *block))
    {
        return Some(low32);
    }
    in_block_v6(v6, (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16))
        .then(|| Ipv4Addr::from((bits >> 80) as u32))
}

fn in_block_v4(ip: Ipv4Addr, (base, len): (Ipv4Addr, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(base) & mask
}

fn in_block_v6(ip: Ipv6Addr, (base, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(base) & mask
}
