//! The harvest scheduler: a tokio task that leases every source whose `next_run_at` has come
//! (as many as this replica has run slots for), sleeps until the next one is due or a lease may
//! have run out (or until it is woken: a source was added, a run ended), and stops when the
//! gateway shuts down.
//!
//! Schedules and leases live in the registry, so they survive restarts and are shared by
//! replicas: a due source is harvested by exactly one of them, and the sources of a replica
//! that died are taken over once its leases run out. Sources that fell due while the gateway
//! was stopped are spread over the first minute after the start instead of all running at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{HarvestService, MAX_CONCURRENT_RUNS};
use crate::registry::HarvestTrigger;

/// The scheduler looks at the sources at least this often (and at least once per lease term,
/// so a dead replica's sources are not left waiting).
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How soon a due source that could not be leased is looked at again.
const OVERDUE_RECHECK: Duration = Duration::from_secs(1);
/// Overdue sources are spread over at most this long after a start.
const STARTUP_SPREAD: Duration = Duration::from_secs(60);

/// Starts the scheduler task; it ends when the service's cancellation fires.
pub fn spawn(service: Arc<HarvestService>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(service))
}

async fn run(service: Arc<HarvestService>) {
    let cancel = service.cancellation();
    spread_overdue(&service).await;
    let max_sleep = MAX_SLEEP.min(service.lease_ttl);
    loop {
        let ttl = chrono::Duration::from_std(service.lease_ttl).unwrap_or_default();
        while service.in_flight.load(Ordering::SeqCst) < MAX_CONCURRENT_RUNS && !cancel.is_cancelled() {
            let claimed = match service.registry.claim_due_source(&service.replica, Utc::now(), ttl).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot look for due harvests");
                    break;
                }
            };
            let Some(source) = claimed else { break };
            let id = source.id.clone();
            if let Err(err) = service.start_run(source, HarvestTrigger::Schedule, true).await {
                tracing::warn!(source = %id, error = %err, "cannot start a scheduled harvest");
            }
        }
        // A source due already is leased elsewhere (or waits for a slot here, and a run's end
        // wakes the loop): look again in a moment rather than spin.
        let sleep = next_due(&service).await.map_or(max_sleep, |due| match (due - Utc::now()).to_std() {
            Ok(wait) => wait.clamp(Duration::from_millis(20), max_sleep),
            Err(_) => OVERDUE_RECHECK.min(max_sleep),
        });
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = service.wake.notified() => {}
            () = cancel.cancelled() => break,
        }
    }
    tracing::debug!("harvest scheduler stopped");
}

/// When the next source falls due (one already due but leased elsewhere counts as now: its
/// lease may run out).
async fn next_due(service: &HarvestService) -> Option<DateTime<Utc>> {
    match service.registry.all_sources().await {
        Ok(sources) => sources.iter().map(|source| source.next_run_at.unwrap_or_else(Utc::now)).min(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the catalog sources");
            None
        }
    }
}

/// Gives every overdue source a start time within the next minute (a tenth of its interval
/// at most), so a restart after a long stop does not fire every harvest at once.
async fn spread_overdue(service: &HarvestService) {
    let now = Utc::now();
    let sources = match service.registry.all_sources().await {
        Ok(sources) => sources,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the catalog sources");
            return;
        }
    };
    for source in sources {
        if source.next_run_at.is_some_and(|at| at > now) {
            continue;
        }
        // Running on another replica: its lease decides, not this replica's start.
        if service.registry.lease_holder(&source.id, now).await.ok().flatten().is_some() {
            continue;
        }
        let at = spread_start(now, source.refresh_seconds);
        if let Err(err) = service.registry.set_next_run(&source.id, Some(at)).await {
            tracing::warn!(source = %source.id, error = %err, "cannot reschedule a source");
        }
    }
}

fn spread_start(now: DateTime<Utc>, refresh_seconds: u64) -> DateTime<Utc> {
    let bound = STARTUP_SPREAD.min(Duration::from_secs(refresh_seconds) / 10);
    let offset = bound.mul_f64(rand::thread_rng().gen_range(0.0..=1.0));
    now + chrono::Duration::from_std(offset).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_overdue_sources_are_spread_over_at_most_a_minute() {
        let now = Utc::now();
        for _ in 0..50 {
            let at = spread_start(now, 86_400);
            assert!(at >= now && at <= now + chrono::Duration::seconds(60));
            let short = spread_start(now, 60);
            assert!(short <= now + chrono::Duration::seconds(6));
        }
    }
}
