//! Token-bucket rate limits, one bucket per key (a site id or a device's IP
//! address), in memory and bounded.
//!
//! Time is `tokio::time::Instant`, passed in by the caller, so tests can
//! drive the clock (`tokio::time::pause`/`advance`) instead of sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A sustained rate and the burst allowed on top of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens (batches) added per second. Always finite and > 0.
    pub per_second: f64,
    /// Bucket size: how many batches may arrive at once after a quiet spell.
    pub burst: u32,
}

/// Most keys a limiter tracks before it evicts some.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A set of token buckets keyed by `K`.
#[derive(Debug)]
pub struct Limiter<K> {
    rate: Rate,
    max_keys: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter tracking at most `max_keys` keys (at least 2).
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Self { rate, max_keys: max_keys.max(2), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from `key`'s bucket at time `now`. When the bucket
    /// is empty, returns how long until a token will be available.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        // A panic while holding the lock cannot leave a bucket half-updated
        // in a harmful way, so a poisoned map is still used.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let burst = f64::from(self.rate.burst);
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => {
                if buckets.len() >= self.max_keys {
                    self.evict(&mut buckets, now);
                }
                buckets.entry(key.clone()).or_insert(Bucket { tokens: burst, updated: now })
            }
        };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate.per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate.per_second))
        }
    }

    /// Number of keys currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Drops buckets that have refilled completely (forgetting them changes
    /// nothing); if that is not enough, keeps only the most recently used
    /// half. Sorting happens at most once per `max_keys / 2` new keys.
    fn evict(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        let burst = f64::from(self.rate.burst);
        let per_second = self.rate.per_second;
        buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_second < burst);
        if buckets.len() >= self.max_keys {
            let mut by_age: Vec<(Instant, K)> = buckets.iter().map(|(k, b)| (b.updated, k.clone())).collect();
            by_age.sort_unstable_by_key(|(updated, _)| *updated);
            for (_, key) in by_age.iter().take(by_age.len() / 2) {
                buckets.remove(key);
            }
        }
    }
}

/// The `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: u32, max_keys: usize) -> Limiter<u32> {
        Limiter::new(Rate { per_second, burst }, max_keys)
    }

    #[test]
    fn burst_then_refill_at_the_rate() {
        let l = limiter(2.0, 3, 10);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check(&1, t0), Ok(()));
        }
        let wait = l.check(&1, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Other keys have their own bucket.
        assert_eq!(l.check(&2, t0), Ok(()));
        // Half a second later exactly one more is allowed.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.check(&1, t1), Ok(()));
        assert!(l.check(&1, t1).is_err());
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..5).filter(|_| l.check(&1, t2).is_ok()).count(), 3);
    }

    #[test]
    fn slow_rates_ask_for_a_longer_retry() {
        let l = limiter(0.1, 1, 10);
        let t0 = Instant::now();
        l.check(&1, t0).unwrap();
        assert_eq!(retry_after_secs(l.check(&1, t0).unwrap_err()), 10);
    }

    #[test]
    fn the_map_stays_bounded_and_keeps_busy_keys() {
        let l = limiter(1.0, 2, 100);
        let t0 = Instant::now();
        for key in 0..10_000 {
            let _ = l.check(&key, t0 + Duration::from_millis(u64::from(key)));
            assert!(l.tracked() <= 100, "{} keys tracked", l.tracked());
        }

        // When no bucket is idle, the least recently used half goes.
        let l = limiter(1.0, 2, 4);
        for key in 1..4 {
            l.check(&key, t0).unwrap();
        }
        let t1 = t0 + Duration::from_millis(10);
        l.check(&0, t1).unwrap();
        l.check(&0, t1).unwrap();
        l.check(&99, t1).unwrap();
        assert_eq!(l.tracked(), 3);
        assert!(l.check(&0, t1).is_err(), "the most recent key keeps its empty bucket");
    }
}
