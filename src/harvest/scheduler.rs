//! The harvest scheduler: a tokio task that starts every source whose `next_run_at` has
//! come, sleeps until the next one is due (or until it is woken: a source was added, a run
//! ended), and stops when the gateway shuts down.
//!
//! Schedules live in the registry, so they survive restarts. Sources that fell due while the
//! gateway was stopped are spread over the first minute after the start instead of all
//! running at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::start_run;
use crate::error::AppError;
use crate::gateway::Gateway;
use crate::registry::{CatalogSourceRecord, HarvestTrigger};

/// The scheduler looks at the sources at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Overdue sources are spread over at most this long after a start.
const STARTUP_SPREAD: Duration = Duration::from_secs(60);

/// Starts the scheduler task; it ends when the harvester's cancellation fires.
pub fn spawn(gateway: Arc<Gateway>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(gateway))
}

async fn run(gateway: Arc<Gateway>) {
    let cancel = gateway.harvester().cancellation();
    spread_overdue(&gateway).await;
    loop {
        let now = Utc::now();
        let mut wake_at = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
        for source in load_sources(&gateway).await {
            let due_at = source.next_run_at.unwrap_or(now);
            if due_at > now {
                wake_at = wake_at.min(due_at);
                continue;
            }
            if gateway.harvester().is_running(&source.id) {
                continue;
            }
            let id = source.id.clone();
            if let Err(err) = start_run(&gateway, source, HarvestTrigger::Schedule).await {
                tracing::warn!(source = %id, error = %err, "cannot start a scheduled harvest");
            }
        }
        let sleep = (wake_at - Utc::now()).to_std().unwrap_or(Duration::ZERO).max(Duration::from_millis(20));
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = gateway.harvester().wake.notified() => {}
            () = cancel.cancelled() => break,
        }
    }
    tracing::debug!("harvest scheduler stopped");
}

async fn load_sources(gateway: &Gateway) -> Vec<CatalogSourceRecord> {
    match gateway.registry().all_sources().await.map_err(AppError::from) {
        Ok(sources) => sources,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the catalog sources");
            Vec::new()
        }
    }
}

/// Gives every overdue source a start time within the next minute (a tenth of its interval
/// at most), so a restart after a long stop does not fire every harvest at once.
async fn spread_overdue(gateway: &Gateway) {
    let now = Utc::now();
    for source in load_sources(gateway).await {
        if source.next_run_at.is_some_and(|at| at > now) {
            continue;
        }
        let at = spread_start(now, source.refresh_seconds);
        if let Err(err) = gateway.registry().set_next_run(&source.id, Some(at)).await.map_err(AppError::from) {
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
