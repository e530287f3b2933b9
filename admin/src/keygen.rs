//! New API keys: the mode's prefix and 40 random base-62 characters (about
//! 238 bits), so a key can neither be guessed nor searched for by its hash.

use shared::domain::KeyMode;
use shared::domain::api_key::{LIVE_PREFIX, TEST_PREFIX};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET_LEN: usize = 40;

pub fn new_key(mode: KeyMode) -> String {
    let prefix = match mode {
        KeyMode::Test => TEST_PREFIX,
        KeyMode::Live => LIVE_PREFIX,
    };
    let mut key = String::with_capacity(prefix.len() + SECRET_LEN);
    key.push_str(prefix);
    let mut bytes = [0u8; 64];
    while key.len() < prefix.len() + SECRET_LEN {
        shared::ids::fill_random(&mut bytes);
        // Rejection sampling: 248 = 4 * 62, so every character is uniform.
        for b in bytes.iter().filter(|b| **b < 248) {
            if key.len() == prefix.len() + SECRET_LEN {
                break;
            }
            key.push(BASE62[usize::from(b % 62)] as char);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_mode_and_are_well_formed() {
        let test = new_key(KeyMode::Test);
        let live = new_key(KeyMode::Live);
        assert!(test.starts_with("img_test_") && test.len() == 9 + SECRET_LEN);
        assert!(live.starts_with("img_live_"));
        assert_eq!(KeyMode::of_key(&test), Some(KeyMode::Test));
        assert_eq!(KeyMode::of_key(&live), Some(KeyMode::Live));
        assert!(test[9..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(test, new_key(KeyMode::Test));
    }

    #[test]
    fn every_base62_character_occurs() {
        let mut seen = [false; 128];
        for _ in 0..200 {
            for b in new_key(KeyMode::Test)[9..].bytes() {
                seen[usize::from(b)] = true;
            }
        }
        assert!(BASE62.iter().all(|b| seen[usize::from(*b)]));
    }
}
