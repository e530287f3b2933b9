//! Opaque identifiers: job and tenant ids in the cuid-like style of the
//! contract (`cmkuz35wf00034rk15ycgzvce`): `c` and 24 random base-36
//! characters, about 124 bits of randomness, so ids cannot be guessed.

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 24;

/// A fresh random id. Panics only if the OS has no randomness source, which
/// a Lambda or Linux host always has.
pub fn new_id() -> String {
    let mut id = String::with_capacity(RANDOM_LEN + 1);
    id.push('c');
    let mut bytes = [0u8; 32];
    while id.len() < RANDOM_LEN + 1 {
        fill_random(&mut bytes);
        // Rejection sampling: 252 = 7 * 36, so every character is uniform.
        for b in bytes.iter().filter(|b| **b < 252) {
            if id.len() == RANDOM_LEN + 1 {
                break;
            }
            id.push(ALPHABET[(b % 36) as usize] as char);
        }
    }
    id
}

/// Whether `s` has the shape of an id we issue. Anything else is answered
/// 404 without touching the database.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == RANDOM_LEN + 1
        && s.starts_with('c')
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Random bytes from the OS.
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source is unavailable");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_contract_shape_and_differ() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a), "{a}");
        assert_ne!(a, b);
        assert!(is_valid_id("cmkuz35wf00034rk15ycgzvce"));
        assert!(!is_valid_id("../../etc/passwd"));
        assert!(!is_valid_id("CMKUZ35WF00034RK15YCGZVCE"));
        assert!(!is_valid_id(""));
    }
}
