//! The outbound URL policy: which URLs a tenant may make us fetch
//! (`inputImageUrl`) or post to (webhooks). Without it a tenant could aim our
//! workers at the cloud metadata service or at private hosts (SSRF).
//!
//! This module judges the URL text (scheme, credentials, literal addresses in
//! any spelling the URL parser accepts: decimal, octal, hex, IPv6-mapped).
//! Host names are judged again at connection time, after DNS resolution, by
//! the code that connects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

pub const MAX_URL_LEN: usize = 2048;

/// Where the service runs decides what it may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlPolicy {
    /// Deployed: `https` only, public addresses only.
    Production,
    /// The local stack: plain `http` and loopback addresses are allowed too,
    /// so a developer can point at servers on their own machine. Private,
    /// link-local and other internal ranges stay refused.
    Local,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRejected {
    #[error("is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("is not an absolute URL")]
    NotAbsolute,
    #[error("must use https")]
    SchemeNotAllowed,
    #[error("must not contain a user name or password")]
    HasCredentials,
    #[error("must name a host")]
    NoHost,
    #[error("points at a private, loopback or link-local address")]
    ForbiddenAddress,
}

/// Checks a URL against the policy and returns it parsed (normalised: an IP
/// written as `2130706433` comes back as `127.0.0.1`).
pub fn check_url(raw: &str, policy: UrlPolicy) -> Result<Url, UrlRejected> {
    if raw.len() > MAX_URL_LEN {
        return Err(UrlRejected::TooLong);
    }
    let url = Url::parse(raw).map_err(|_| UrlRejected::NotAbsolute)?;
    // Normalising percent-encodes, which can make the URL several times
    // longer; the normal form is what is stored and checked again.
    if url.as_str().len() > MAX_URL_LEN {
        return Err(UrlRejected::TooLong);
    }
    match (url.scheme(), policy) {
        ("https", _) | ("http", UrlPolicy::Local) => {}
        _ => return Err(UrlRejected::SchemeNotAllowed),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRejected::HasCredentials);
    }
    let allowed = match url.host() {
        None => return Err(UrlRejected::NoHost),
        Some(Host::Ipv4(ip)) => address_allowed(IpAddr::V4(ip), policy),
        Some(Host::Ipv6(ip)) => address_allowed(IpAddr::V6(ip), policy),
        Some(Host::Domain(name)) => {
            !is_internal_name(name) || (policy == UrlPolicy::Local && is_localhost(name))
        }
    };
    if !allowed {
        return Err(UrlRejected::ForbiddenAddress);
    }
    Ok(url)
}

/// Whether we may connect to `ip`: public addresses, and loopback in the
/// local stack. Judged again on every resolved address before connecting.
pub fn address_allowed(ip: IpAddr, policy: UrlPolicy) -> bool {
    is_public_ip(ip) || (policy == UrlPolicy::Local && ip.to_canonical().is_loopback())
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Names that resolve to this machine or the cloud's internal services
/// whatever DNS says.
fn is_internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.ends_with(".internal")
        || name.ends_with(".local")
        || name == "metadata"
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local (the metadata service), carrier-grade NAT, multicast,
/// documentation, unspecified or reserved; IPv6 forms of IPv4 addresses are
/// judged as the IPv4 address they carry.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if tunnels_or_discards(seg) {
                return false;
            }
            if let Some(v4) = embedded_v4(v6) {
                return is_public_v4(v4);
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x2001 && (seg[1] & 0xfff0) == 0x0010) // ORCHID (deprecated)
                || (seg[0] == 0x2001 && (seg[1] & 0xfff0) == 0x0020) // ORCHIDv2
                || (seg[0] & 0xfff0) == 0x3ff0 // documentation (3fff::/20)
                || seg[0] == 0x5f00) // SRv6 segment identifiers
        }
    }
}

/// Teredo (`2001::/32`, a tunnel to an IPv4 host the address hides),
/// local-use NAT64 (`64:ff9b:1::/48`, a translator inside some network) and
/// discard-only (`100::/64`): never a public destination of their own.
fn tunnels_or_discards(seg: [u16; 8]) -> bool {
    (seg[0] == 0x2001 && seg[1] == 0)
        || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1)
        || seg[..4] == [0x100, 0, 0, 0]
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast (deprecated)
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240) // reserved
}

/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (SIIT,
/// `::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`) addresses.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(tail());
    }
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod(u: &str) -> Result<Url, UrlRejected> {
        check_url(u, UrlPolicy::Production)
    }

    #[test]
    fn public_https_is_allowed() {
        assert!(prod("https://example.com/cat.png").is_ok());
        assert!(prod("https://8.8.8.8/x.png").is_ok());
        assert!(prod("https://[2606:4700::1111]/x.png").is_ok());
    }

    #[test]
    fn internal_targets_in_every_spelling_are_refused() {
        for u in [
            "https://127.0.0.1/x",
            "https://2130706433/x", // decimal
            "https://0177.0.0.1/x", // octal
            "https://0x7f.0.0.1/x", // hex
            "https://127.1/x",      // short form
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[::ffff:7f00:1]/x",
            "https://[64:ff9b::a9fe:a9fe]/x",
            "https://[2002:a9fe:a9fe::]/x",
            "https://[::ffff:0:7f00:1]/x", // SIIT
            "https://[64:ff9b:1::7f00:1]/x",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", // Teredo
            "https://[100::1]/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/x",
            "https://172.16.5.4/x",
            "https://192.168.1.1/x",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://localhost/x",
            "https://api.localhost./x",
            "https://metadata.google.internal/x",
        ] {
            assert_eq!(prod(u).unwrap_err(), UrlRejected::ForbiddenAddress, "{u}");
        }
    }

    #[test]
    fn other_shapes_are_refused_with_a_reason() {
        assert_eq!(
            prod("http://example.com/x").unwrap_err(),
            UrlRejected::SchemeNotAllowed
        );
        assert_eq!(
            prod("file:///etc/passwd").unwrap_err(),
            UrlRejected::SchemeNotAllowed
        );
        assert_eq!(
            prod("gopher://example.com").unwrap_err(),
            UrlRejected::SchemeNotAllowed
        );
        assert_eq!(prod("/relative.png").unwrap_err(), UrlRejected::NotAbsolute);
        assert_eq!(
            prod("https://u:p@example.com/").unwrap_err(),
            UrlRejected::HasCredentials
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(prod(&long).unwrap_err(), UrlRejected::TooLong);
    }

    #[test]
    fn local_policy_allows_http_and_loopback_only() {
        let local = |u| check_url(u, UrlPolicy::Local);
        assert!(local("http://127.0.0.1:9000/x.png").is_ok());
        assert!(local("http://localhost:9000/x.png").is_ok());
        assert!(local("http://[::1]:9000/x.png").is_ok());
        assert!(local("ftp://127.0.0.1/x").is_err());
        for u in [
            "http://10.0.0.1/x",
            "http://169.254.169.254/x",
            "http://192.168.0.1/x",
            "http://metadata.google.internal/x",
        ] {
            assert_eq!(local(u).unwrap_err(), UrlRejected::ForbiddenAddress, "{u}");
        }
    }
}

/// A DNS resolver for outbound clients that drops every resolved address
/// the policy forbids, so a public-looking name that resolves to (or is
/// rebound to) an internal address is never connected to.
pub struct GuardedResolver {
    policy: UrlPolicy,
}

impl GuardedResolver {
    pub fn new(policy: UrlPolicy) -> GuardedResolver {
        GuardedResolver { policy }
    }

    /// The addresses of `host` we may connect to; an error if none.
    pub async fn resolve_allowed(
        host: &str,
        policy: UrlPolicy,
    ) -> Result<Vec<std::net::SocketAddr>, std::io::Error> {
        let resolved = tokio::net::lookup_host((host, 0)).await?;
        let allowed: Vec<_> = resolved
            .filter(|addr| address_allowed(addr.ip(), policy))
            .collect();
        if allowed.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{host} resolves only to forbidden addresses"),
            ));
        }
        Ok(allowed)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let addrs = GuardedResolver::resolve_allowed(name.as_str(), policy).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for tenant-supplied URLs: the guarded resolver, no proxy,
/// no automatic redirects (callers check every hop with `check_url`).
pub fn guarded_client(
    policy: UrlPolicy,
    connect_timeout: std::time::Duration,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .dns_resolver(GuardedResolver::new(policy))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!("image-saas/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod resolver_tests {
    use super::*;

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_in_production() {
        let err = GuardedResolver::resolve_allowed("localhost", UrlPolicy::Production)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(
            GuardedResolver::resolve_allowed("localhost", UrlPolicy::Local)
                .await
                .is_ok()
        );
    }
}
