//! API keys. The raw key is shown to its owner once and never stored: the
//! table holds only its SHA-256, so a leaked table leaks no usable key.

use sha2::{Digest, Sha256};

pub const TEST_PREFIX: &str = "img_test_";
pub const LIVE_PREFIX: &str = "img_live_";
/// Longer inputs are rejected before hashing; real keys are far shorter.
const MAX_KEY_LEN: usize = 128;

/// Test keys never call Gemini (offline renderer); live keys do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyMode {
    Test,
    Live,
}

impl KeyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::Test => "test",
            KeyMode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<KeyMode> {
        match s {
            "test" => Some(KeyMode::Test),
            "live" => Some(KeyMode::Live),
            _ => None,
        }
    }

    /// The mode a raw key claims by its prefix, if it is well formed at all:
    /// the prefix, then at least 8 characters of `[A-Za-z0-9_]`.
    pub fn of_key(raw: &str) -> Option<KeyMode> {
        if raw.len() > MAX_KEY_LEN || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let (mode, rest) = if let Some(rest) = raw.strip_prefix(TEST_PREFIX) {
            (KeyMode::Test, rest)
        } else if let Some(rest) = raw.strip_prefix(LIVE_PREFIX) {
            (KeyMode::Live, rest)
        } else {
            return None;
        };
        (rest.len() >= 8).then_some(mode)
    }
}

/// Lowercase hex SHA-256 of a raw key: the only form a key is stored in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    pub fn of(raw: &str) -> ApiKeyHash {
        let digest = Sha256::digest(raw.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push_str(&format!("{b:02x}"));
        }
        ApiKeyHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_comes_from_the_prefix() {
        assert_eq!(
            KeyMode::of_key("img_test_dev_123456789"),
            Some(KeyMode::Test)
        );
        assert_eq!(KeyMode::of_key("img_live_abcdefgh12"), Some(KeyMode::Live));
        assert_eq!(KeyMode::of_key("img_test_short"), None);
        assert_eq!(KeyMode::of_key("sk_test_123456789"), None);
        assert_eq!(KeyMode::of_key("img_test_dev 123456789"), None);
        assert_eq!(
            KeyMode::of_key(&format!("img_test_{}", "a".repeat(200))),
            None
        );
    }

    #[test]
    fn hash_is_sha256_hex() {
        // sha256("abc")
        assert_eq!(
            ApiKeyHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
