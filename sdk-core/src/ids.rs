//! Random identifiers without a hidden random source: the caller seeds the generator once
//! (from `crypto.getRandomValues` in the browser) and ids are SHA-256(seed ‖ counter).

use sha2::{Digest, Sha256};

pub struct IdGenerator {
    seed: [u8; 32],
    counter: u64,
}

impl IdGenerator {
    pub fn new(seed: [u8; 32]) -> Self {
        Self { seed, counter: 0 }
    }

    /// The next 32 bytes of the stream for `domain` (SHA-256 of domain, seed and counter).
    fn next_block(&mut self, domain: &[u8]) -> [u8; 32] {
        self.counter += 1;
        Sha256::new()
            .chain_update(domain)
            .chain_update(self.seed)
            .chain_update(self.counter.to_le_bytes())
            .finalize()
            .into()
    }

    /// 16 random bytes as 32 lowercase hex characters.
    pub fn next_hex128(&mut self) -> String {
        hex(&self.next_block(b"attune-id\0")[..16])
    }

    /// A number in `0..1` from the same stream (for retry jitter).
    pub fn next_unit(&mut self) -> f64 {
        let block = self.next_block(b"attune-unit\0");
        let bits = u64::from_le_bytes(block[..8].try_into().expect("8 bytes"));
        (bits >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut g = IdGenerator::new([7; 32]);
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| g.next_hex128()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| is_lower_hex(id, 32)));
    }

    #[test]
    fn different_seeds_give_different_ids() {
        assert_ne!(IdGenerator::new([1; 32]).next_hex128(), IdGenerator::new([2; 32]).next_hex128());
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
