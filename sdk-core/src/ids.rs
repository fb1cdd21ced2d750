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

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5), as JWKs and the rights requests use it.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64URL[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url without padding; `None` for anything else (padding, other alphabets,
/// stray bits).
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = B64URL.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
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
    fn base64url_round_trips_and_refuses_other_alphabets() {
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64url_decode(&base64url_encode(&bytes)), Some(bytes));
        }
        assert_eq!(base64url_encode(b"\xfb\xff"), "-_8");
        assert_eq!(base64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        for bad in ["+/8", "AA==", "A", "-_9"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
