//! A tiny deterministic random source for fault plans: SplitMix64 (no `rand` dependency), and
//! FNV-1a to turn a call's description into a stable key. Both are fixed algorithms, so a seed
//! printed by one run means the same draws on any machine and any Rust version.

/// One SplitMix64 step from `state`: a well-mixed 64-bit value.
pub fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value in `[0, 1)` from a 64-bit draw (its top 53 bits).
pub fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a over `parts`, with a separator between them (so `("ab", "c")` ≠ `("a", "bc")`).
pub fn key(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// A seeded stream of draws (for a plan's own choices that are not tied to one call).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_draws() {
        let mut a = SplitMix::new(42);
        let mut b = SplitMix::new(42);
        let mut c = SplitMix::new(43);
        let from_a: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let from_b: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let from_c: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(from_a, from_b);
        assert_ne!(from_a, from_c);
    }

    #[test]
    fn draws_are_spread_over_the_unit_interval() {
        let mut rng = SplitMix::new(7);
        let mut buckets = [0usize; 10];
        for _ in 0..10_000 {
            let u = unit(rng.next_u64());
            assert!((0.0..1.0).contains(&u), "{u}");
            buckets[(u * 10.0) as usize] += 1;
        }
        for (i, n) in buckets.iter().enumerate() {
            assert!((800..1_200).contains(n), "bucket {i} holds {n} of 10000");
        }
    }

    #[test]
    fn keys_are_stable_and_separate_their_parts() {
        // FNV-1a of the empty input is its offset basis; a fixed value guards the algorithm.
        assert_eq!(key(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key(&["store", "update"]), key(&["store", "update"]));
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_ne!(key(&["store", "update"]), key(&["queue", "update"]));
    }
}
