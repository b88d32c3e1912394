//! A circuit breaker per live source. A publisher that missed the deadline is not waited for
//! again: until one background check answers within the deadline, searches report it
//! `UNAVAILABLE` at once, so a dead endpoint costs one search its deadline instead of every
//! search. Checks are spaced out (`retry_after`, doubling per failed check up to
//! [`MAX_RETRY_FACTOR`] times), and at most one is in flight per source.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest wait between two checks, as a multiple of the first.
pub const MAX_RETRY_FACTOR: u32 = 32;

/// What a search does with one live source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Healthy: ask it and wait up to the deadline.
    Ask,
    /// In trouble and due for a check: ask it in the background, do not wait.
    Check { misses: u32 },
    /// In trouble, a check is not due or already running: do not ask.
    Skip { misses: u32, next_check_in: Duration },
}

#[derive(Debug, Clone, Copy)]
struct Trouble {
    /// Consecutive misses (deadline passed or failed check).
    misses: u32,
    next_check: Instant,
    checking: bool,
}

/// The state of every source that recently missed the deadline; healthy sources have no entry.
#[derive(Debug)]
pub struct Breakers {
    retry_after: Duration,
    troubles: Mutex<HashMap<String, Trouble>>,
}

impl Breakers {
    pub fn new(retry_after: Duration) -> Self {
        Self { retry_after, troubles: Mutex::new(HashMap::new()) }
    }

    /// Decides for one search; a `Check` answer reserves the check (the caller must report its
    /// outcome with [`Self::answered`] or [`Self::missed`]).
    pub fn admit(&self, source_id: &str, now: Instant) -> Admission {
        let mut troubles = self.troubles.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(trouble) = troubles.get_mut(source_id) else {
            return Admission::Ask;
        };
        if trouble.checking || now < trouble.next_check {
            return Admission::Skip {
                misses: trouble.misses,
                next_check_in: trouble.next_check.saturating_duration_since(now),
            };
        }
        trouble.checking = true;
        Admission::Check { misses: trouble.misses }
    }

    /// A search waited the whole deadline for the source. Several searches in flight may miss
    /// at once: that counts as one miss.
    pub fn deadline_passed(&self, source_id: &str, now: Instant) {
        let mut troubles = self.troubles.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        troubles.entry(source_id.to_string()).or_insert(Trouble {
            misses: 1,
            next_check: now + self.retry_after,
            checking: false,
        });
    }

    /// A check (or a search) got an answer within the deadline: the source is healthy again.
    pub fn answered(&self, source_id: &str) {
        let mut troubles = self.troubles.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        troubles.remove(source_id);
    }

    /// A check failed or answered too late: wait longer before the next one.
    pub fn missed(&self, source_id: &str, now: Instant) {
        let mut troubles = self.troubles.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let trouble =
            troubles.entry(source_id.to_string()).or_insert(Trouble { misses: 0, next_check: now, checking: false });
        trouble.misses = trouble.misses.saturating_add(1);
        trouble.checking = false;
        trouble.next_check = now + self.wait_after(trouble.misses);
    }

    /// `retry_after` after the first miss, doubling per further miss, capped.
    fn wait_after(&self, misses: u32) -> Duration {
        let doubled = 1u32.checked_shl(misses.saturating_sub(1)).unwrap_or(u32::MAX);
        self.retry_after.saturating_mul(doubled.min(MAX_RETRY_FACTOR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Duration = Duration::from_secs(10);

    #[test]
    fn test_healthy_sources_are_asked() {
        let breakers = Breakers::new(RETRY);
        assert_eq!(breakers.admit("a", Instant::now()), Admission::Ask);
        breakers.answered("a");
        assert_eq!(breakers.admit("a", Instant::now()), Admission::Ask);
    }

    #[test]
    fn test_a_missed_deadline_skips_the_source_until_a_check_is_due() {
        let breakers = Breakers::new(RETRY);
        let t0 = Instant::now();
        breakers.deadline_passed("dead", t0);
        // Sixteen searches that were waiting at the same time count once.
        for _ in 0..15 {
            breakers.deadline_passed("dead", t0);
        }
        let skipped = breakers.admit("dead", t0 + Duration::from_secs(3));
        assert_eq!(skipped, Admission::Skip { misses: 1, next_check_in: Duration::from_secs(7) });
        assert_eq!(breakers.admit("other", t0), Admission::Ask, "other sources are not affected");

        let due = t0 + RETRY;
        assert_eq!(breakers.admit("dead", due), Admission::Check { misses: 1 });
        // Only one check at a time: the next search skips while it runs.
        assert!(matches!(breakers.admit("dead", due), Admission::Skip { misses: 1, .. }));
    }

    #[test]
    fn test_failed_checks_back_off_and_an_answer_closes_the_breaker() {
        let breakers = Breakers::new(RETRY);
        let t0 = Instant::now();
        breakers.deadline_passed("dead", t0);
        let mut now = t0 + RETRY;
        let mut expected_wait = RETRY;
        for misses in 1..=8u32 {
            assert_eq!(breakers.admit("dead", now), Admission::Check { misses });
            breakers.missed("dead", now);
            expected_wait = (expected_wait * 2).min(RETRY * MAX_RETRY_FACTOR);
            let skipped = breakers.admit("dead", now);
            assert_eq!(skipped, Admission::Skip { misses: misses + 1, next_check_in: expected_wait });
            now += expected_wait;
        }
        assert_eq!(expected_wait, RETRY * MAX_RETRY_FACTOR, "the wait is capped");
        assert!(matches!(breakers.admit("dead", now), Admission::Check { .. }));
        breakers.answered("dead");
        assert_eq!(breakers.admit("dead", now), Admission::Ask);
    }
}
