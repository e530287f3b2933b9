//! A small seeded random generator (SplitMix64) for load tests and fault
//! mixes. Seeded, so a run's traffic and faults can be replayed from the
//! seed it prints; no dependency; never used for anything secret.

/// SplitMix64: a 64-bit state stepped by a constant and hashed.
#[derive(Clone, Debug)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// Uniform enough in `0..n` for test traffic (the modulo bias is below
    /// 2⁻⁵⁰ for the small `n` used); 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// One of `choices`, each drawn with its weight relative to the sum;
    /// `None` when there are none (or all weigh 0).
    pub fn weighted<'a, T>(&mut self, choices: &'a [(T, u64)]) -> Option<&'a T> {
        let total: u64 = choices.iter().map(|(_, weight)| weight).sum();
        let mut point = self.below(total);
        choices.iter().find_map(|(choice, weight)| {
            if point < *weight {
                Some(choice)
            } else {
                point -= weight;
                None
            }
        })
    }
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
pub fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a of text, to derive a stable per-item seed (e.g. from a prompt).
pub fn hash_str(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_sequence() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, {
            let mut c = SeededRng::new(8);
            (0..5).map(|_| c.next_u64()).collect::<Vec<_>>()
        });
    }

    #[test]
    fn draws_cover_the_range_and_stay_in_it() {
        let mut rng = SeededRng::new(1);
        let mut seen = [0u32; 4];
        for _ in 0..400 {
            seen[rng.below(4) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.pick::<u8>(&[]), None);
    }

    #[test]
    fn weighted_draws_follow_the_weights() {
        let mut rng = SeededRng::new(3);
        let choices = [('a', 1), ('b', 0), ('c', 3)];
        let mut seen = [0u32; 3];
        for _ in 0..400 {
            match rng.weighted(&choices) {
                Some('a') => seen[0] += 1,
                Some('b') => seen[1] += 1,
                _ => seen[2] += 1,
            }
        }
        assert_eq!(seen[1], 0, "a weight of 0 is never drawn");
        assert!((60..=140).contains(&seen[0]), "1 in 4 of 400: {seen:?}");
        assert_eq!(rng.weighted::<char>(&[]), None);
    }
}
