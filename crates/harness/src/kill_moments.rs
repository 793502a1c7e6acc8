//! Random moments to kill a process at: xorshift64*, seeded from an environment variable (to
//! replay a failure) or else the clock. Enough randomness for kill moments, with no dependency.
//!
//! Used by the cluster chaos test and by `resume_after_kill`.

use std::time::Duration;

pub struct Moments(u64);

impl Moments {
    /// Seeded from `variable` when it holds a number, else from the clock; prints the seed so
    /// a failure can be replayed with `variable=<seed>`.
    pub fn from_env(variable: &str) -> Self {
        let seed = std::env::var(variable)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |elapsed| elapsed.as_nanos() as u64)
                    | 1
            });
        eprintln!("kill moments from {variable}={seed}");
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// In [0, below).
    pub fn next_millis(&mut self, below: u64) -> u64 {
        self.next() % below
    }

    /// `count` moments in [0, window), sorted.
    pub fn within(&mut self, window: Duration, count: usize) -> Vec<Duration> {
        let mut moments: Vec<Duration> = (0..count)
            .map(|_| window.mul_f64(self.next_unit()))
            .collect();
        moments.sort();
        moments
    }
}
