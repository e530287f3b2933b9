//! Outbound URLs: addresses drawn from the forbidden blocks as often as
//! from the rest, written in every spelling the URL parser reads (decimal,
//! octal, hex, short forms, IPv6 forms carrying IPv4, percent-encoding,
//! full-width digits), with hostile names, schemes and credentials.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::support::{config, replay};
use fuzz_checks::netguard::{
    FORBIDDEN_V4, FORBIDDEN_V6, check, check_address, check_text, is_forbidden,
};

const SCHEMES: [&str; 6] = ["https", "http", "HTTPS", "ftp", "file", "javascript"];
const NAMES: [&str; 9] = [
    "example.com",
    "localhost",
    "LocalHost.",
    "api.localhost",
    "metadata",
    "metadata.google.internal",
    "printer.local",
    "ｌｏｃａｌｈｏｓｔ",
    "xn--e1afmkfd.xn--p1ai",
];

/// An address of an `address_bits`-wide family in the block `base/prefix`,
/// its host bits taken from `random`.
fn in_block(base: u128, prefix: u8, address_bits: u32, random: u128) -> u128 {
    let host_bits = address_bits - u32::from(prefix);
    let host_mask = u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
    (base & !host_mask) | (random & host_mask)
}

pub fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        (prop::sample::select(&FORBIDDEN_V4[..]), any::<u32>()).prop_map(|((base, len), r)| {
            Ipv4Addr::from(in_block(u128::from(u32::from(base)), len, 32, u128::from(r)) as u32)
        }),
    ]
}

pub fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    let carrying_v4 = (0..4u8, ipv4()).prop_map(|(form, v4)| {
        let v4 = u128::from(u32::from(v4));
        Ipv6Addr::from(match form {
            0 => 0xffff << 32 | v4,        // IPv4-mapped
            1 => v4,                       // IPv4-compatible
            2 => 0x64_ff9b << 96 | v4,     // NAT64
            _ => 0x2002 << 112 | v4 << 80, // 6to4
        })
    });
    prop_oneof![
        any::<u128>().prop_map(Ipv6Addr::from),
        (prop::sample::select(&FORBIDDEN_V6[..]), any::<u128>())
            .prop_map(|((base, len), r)| Ipv6Addr::from(in_block(u128::from(base), len, 128, r))),
        carrying_v4,
    ]
}

/// The spellings of one IPv4 address that URL parsers accept.
fn spell_v4(ip: Ipv4Addr, spelling: u8) -> String {
    let [a, b, c, d] = ip.octets();
    let whole = u32::from(ip);
    match spelling % 8 {
        0 => ip.to_string(),
        1 => whole.to_string(),
        2 => format!("0x{whole:x}"),
        3 => format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
        4 => format!("0X{a:X}.{b}.0{c:o}.{d}"),
        5 => format!("{a}.{}", whole & 0x00ff_ffff),
        6 => format!("{ip}."),
        _ => ip.to_string().chars().map(full_width).collect(),
    }
}

/// `１２７` for `127`: IDNA maps full-width digits back to ASCII.
fn full_width(ch: char) -> char {
    match ch.to_digit(10) {
        Some(digit) => char::from_u32(0xff10 + digit).unwrap_or(ch),
        None => ch,
    }
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        (ipv4(), any::<u8>()).prop_map(|(ip, spelling)| spell_v4(ip, spelling)),
        ipv6().prop_map(|ip| format!("[{ip}]")),
        ipv4().prop_map(|ip| format!("[::ffff:{ip}]")),
        ipv4().prop_map(|ip| ip
            .to_string()
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect()),
        prop::sample::select(&NAMES[..]).prop_map(str::to_string),
    ]
}

/// A URL as a tenant might send it for `inputImageUrl` or a webhook.
pub fn url_text() -> impl Strategy<Value = String> {
    let userinfo = prop::sample::select(&["", "", "user@", "user:pass@", ":@"][..]);
    let port = prop::sample::select(&["", ":443", ":8080", ":0"][..]);
    // A long non-ASCII query is under the length limit as written but not
    // once percent-encoded.
    let rest = prop_oneof!["(/[a-z.]{0,8}){0,2}", "/\\?[é€😀]{150,250}"];
    (
        prop::sample::select(&SCHEMES[..]),
        userinfo,
        host(),
        port,
        rest,
    )
        .prop_map(|(scheme, userinfo, host, port, rest)| {
            format!("{scheme}://{userinfo}{host}{port}{rest}")
        })
}

/// The table the properties judge by agrees with docs/API.md's examples, so
/// a guard that let one of them through could not pass.
#[test]
fn the_table_knows_the_documented_addresses() {
    let internal = [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::",
        "fd00::1",
        "fe80::1",
    ];
    for ip in internal {
        assert!(is_forbidden(ip.parse().expect("an address")), "{ip}");
    }
    for ip in ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
        assert!(!is_forbidden(ip.parse().expect("an address")), "{ip}");
    }
}

#[test]
fn committed_corpus_holds() {
    replay("netguard", check);
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn generated_urls_hold(url in url_text()) {
        check_text(&url);
    }

    #[test]
    fn resolved_addresses_hold(ip in prop_oneof![ipv4().prop_map(IpAddr::V4), ipv6().prop_map(IpAddr::V6)]) {
        check_address(ip);
    }

    #[test]
    fn arbitrary_text_holds(text in "\\PC{0,40}") {
        check_text(&text);
    }
}
