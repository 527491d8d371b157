//! Percentiles and formatting.

use std::time::Duration;

/// Latencies of one measurement, sorted.
#[derive(Debug, Clone)]
pub struct Summary {
    sorted: Vec<Duration>,
}

impl Summary {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self { sorted: samples }
    }

    /// Nearest-rank percentile (`p` in 0..=100); zero without samples.
    pub fn pct(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.pct(50.0)
    }

    pub fn p99(&self) -> Duration {
        self.pct(99.0)
    }

    pub fn min(&self) -> Duration {
        self.sorted.first().copied().unwrap_or_default()
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// `a ÷ b` with two decimals (`n/a` when `b` is zero).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::NAN
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

/// Bytes as MB (10^6) with two decimals.
pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// `met` / `MISSED` for a figure against a goal of at most `goal`.
pub fn verdict(value: f64, goal: f64) -> &'static str {
    if value.is_nan() {
        "n/a"
    } else if value <= goal {
        "met"
    } else {
        "MISSED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(s.p50(), Duration::from_millis(50));
        assert_eq!(s.p99(), Duration::from_millis(99));
        assert_eq!(s.pct(100.0), Duration::from_millis(100));
        assert_eq!(Summary::of(vec![]).p50(), Duration::ZERO);
        assert_eq!(verdict(1.05, 1.10), "met");
        assert_eq!(verdict(1.2, 1.10), "MISSED");
    }
}
