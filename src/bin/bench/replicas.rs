//! `bench replicas`: what several replicas on one PostgreSQL cost, each figure beside a baseline
//! measured in the same run.
//!
//! - Ingest of the corpus on PostgreSQL against the same ingest on the data folder's SQLite.
//! - A fresh replica (empty data folder) catching up from the catalog log until `/readyz` would
//!   say ready, against raw tantivy parsing and indexing the same documents (the floor) and the
//!   gateway's own first ingest.
//! - Replication lag under continuous ingest: one replica ingests a small catalog every few
//!   milliseconds, another polls its own index until each resource is there; against how long
//!   the ingest took to answer on the first replica.
//!
//! Each measurement gets its own database on the server `--database-url` names (created and
//! dropped here), so the server should be a throwaway one (`.ci/postgres.sh start DIR PORT`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use resource_gateway::auth::Principal;
use resource_gateway::ingest::{IngestOptions, IngestStatus};
use resource_gateway::resource::{CatalogFormat, PublisherId};
use resource_gateway::search::SearchRequest;
use resource_gateway::App;
use sqlx::Connection;

use crate::measure::LatencyStats;
use crate::{
    bench_config, corpus, floor_ingest_child, fresh_work_dir, ingest_child, FloorIngestOutcome, IngestOutcome,
};

/// The secret key of the benchmark's databases (throwaway).
const SECRET_KEY: &str = "bench-replicas-secret-key-0123456789abcdef";

/// What `bench replicas` was asked.
pub struct ReplicaOptions {
    pub server_url: String,
    pub num_resources: usize,
    pub seed: u64,
    pub lag_samples: usize,
    pub lag_interval: Duration,
}

/// Every figure of one run.
pub struct ReplicaOutcome {
    pub num_resources: usize,
    pub sqlite: IngestOutcome,
    pub postgres: IngestOutcome,
    pub floor: FloorIngestOutcome,
    pub catch_up_seconds: f64,
    pub lag: LatencyStats,
    pub lag_ingest: LatencyStats,
    pub lag_interval: Duration,
}

/// A database of its own on the benchmark's server, dropped when the run ends.
struct BenchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl BenchDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("rg_bench_{}", hex::encode(rand::random::<[u8; 6]>()));
        let mut admin =
            sqlx::PgConnection::connect(admin_url).await.with_context(|| format!("cannot connect to {admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Ok(Self { admin_url: admin_url.to_string(), url: format!("{base}/{name}"), name })
    }

    async fn drop_now(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ =
                sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin).await;
        }
    }
}

pub fn replica_config(data_dir: &Path, database: &str) -> resource_gateway::Config {
    let mut config = bench_config(data_dir);
    config.database_url = Some(database.to_string());
    config.secret_key = Some(SECRET_KEY.to_string());
    config
}

async fn open_replica(data_dir: &Path, database: &str) -> anyhow::Result<Arc<App>> {
    Ok(App::open(replica_config(data_dir, database), "http://127.0.0.1:8080".to_string()).await?)
}

/// Runs every measurement; the work folder is wiped first.
pub async fn run(work: &Path, options: &ReplicaOptions) -> anyhow::Result<ReplicaOutcome> {
    fresh_work_dir(work)?;
    let corpus_dir = work.join("corpus");
    eprintln!("writing a corpus of {} resources", options.num_resources);
    corpus::write_corpus(&corpus_dir, options.num_resources, 20_000, options.seed)?;

    eprintln!("ingest on SQLite");
    let sqlite = ingest_child(&corpus_dir, &work.join("sqlite"), 2, None).await?;
    eprintln!("raw tantivy floor");
    let floor = {
        let (corpus_dir, index_dir) = (corpus_dir.clone(), work.join("floor"));
        tokio::task::spawn_blocking(move || floor_ingest_child(&corpus_dir, &index_dir)).await??
    };

    let database = BenchDatabase::create(&options.server_url).await?;
    let outcome = async {
        eprintln!("ingest on PostgreSQL");
        let postgres = ingest_child(&corpus_dir, &work.join("replica-a"), 2, Some(&database.url)).await?;
        eprintln!("a fresh replica catching up");
        let catch_up_seconds = catch_up(&work.join("replica-b"), &database.url, postgres.num_resources).await?;
        eprintln!("replication lag under continuous ingest");
        let (lag, lag_ingest) = replication_lag(work, &database.url, options).await?;
        Ok::<_, anyhow::Error>((postgres, catch_up_seconds, lag, lag_ingest))
    }
    .await;
    database.drop_now().await;
    let (postgres, catch_up_seconds, lag, lag_ingest) = outcome?;
    Ok(ReplicaOutcome {
        num_resources: sqlite.num_resources,
        sqlite,
        postgres,
        floor,
        catch_up_seconds,
        lag,
        lag_ingest,
        lag_interval: options.lag_interval,
    })
}

/// Seconds from opening a replica on an empty data folder until it has applied the whole log
/// (what `/readyz` waits for) and holds every resource.
async fn catch_up(data_dir: &Path, database: &str, expected: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let replica = open_replica(data_dir, database).await?;
    loop {
        if replica.ready().await.is_ok() {
            break;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the fresh replica did not catch up within an hour");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let request = SearchRequest { limit: 1, ..Default::default() };
    let total = replica.search.search(request).await.map_err(|err| anyhow!("search: {err}"))?.total;
    replica.close().await;
    if total != expected {
        bail!("the fresh replica holds {total} resources, not {expected}");
    }
    Ok(seconds)
}

/// One resource per catalog, for the lag measurement.
fn lag_catalog(n: usize) -> Vec<u8> {
    serde_json::json!([{
        "@context": "http://schema.org", "@type": "LearningResource", "identifier": format!("LAG-{n}"),
        "name": format!("Replication probe {n}"), "url": format!("https://lag.example.org/r/{n}"), "inLanguage": "en"
    }])
    .to_string()
    .into_bytes()
}

/// Replica A ingests a one-resource catalog every `lag_interval` (each under its own source, so
/// none replaces another) while replica B, opened on the caught-up data folder, polls its own
/// index for each; answers (lag on B after A answered, A's ingest time).
async fn replication_lag(
    work: &Path,
    database: &str,
    options: &ReplicaOptions,
) -> anyhow::Result<(LatencyStats, LatencyStats)> {
    let a = open_replica(&work.join("replica-a"), database).await?;
    let b = open_replica(&work.join("replica-b"), database).await?;
    let publisher = PublisherId::parse("lag-probe")?;
    a.publishers
        .register(&Principal::Admin, "Lag probe", Some(publisher.as_str()), None)
        .await
        .map_err(|err| anyhow!("register: {err}"))?;
    let (sent, mut received) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let watcher = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut lags = Vec::new();
            while let Some((n, answered)) = received.recv().await {
                let id = format!("lag-probe:LAG-{n}");
                loop {
                    let found = b.search.resources(std::slice::from_ref(&id)).await.map_err(|e| anyhow!("{e}"))?;
                    if !found.is_empty() {
                        break;
                    }
                    if answered.elapsed() > Duration::from_secs(60) {
                        bail!("{id} did not reach the other replica within a minute");
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                lags.push(answered.elapsed());
            }
            Ok::<_, anyhow::Error>(lags)
        })
    };
    let started = Instant::now();
    let mut ingests = Vec::with_capacity(options.lag_samples);
    let mut ticker = tokio::time::interval(options.lag_interval);
    for n in 0..options.lag_samples {
        ticker.tick().await;
        let began = Instant::now();
        let source = IngestOptions { source: Some(format!("probe-{n}")), mode: None };
        let report = a
            .ingest
            .ingest(&Principal::Admin, &publisher, CatalogFormat::Lrmi, lag_catalog(n), source)
            .await
            .map_err(|err| anyhow!("ingest: {err}"))?;
        if report.status != IngestStatus::Succeeded {
            bail!("probe ingest {n}: {}", report.status.as_str());
        }
        ingests.push(began.elapsed());
        let _ = sent.send((n, Instant::now()));
    }
    drop(sent);
    let lags = watcher.await??;
    let wall = started.elapsed();
    a.close().await;
    b.close().await;
    Ok((LatencyStats::from_samples(lags, wall), LatencyStats::from_samples(ingests, wall)))
}

fn rate(outcome: &IngestOutcome) -> f64 {
    outcome.num_resources as f64 / outcome.seconds.max(1e-9)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The results as a Markdown section.
pub fn markdown(outcome: &ReplicaOutcome) -> String {
    let floor_seconds = outcome.floor.build_seconds + outcome.floor.seconds;
    let mut out = format!(
        "### Replicas on one PostgreSQL: {} resources\n\n| Measure | Gateway | Baseline (same run) | Ratio |\n|---|---:|---:|---:|\n",
        outcome.num_resources
    );
    out.push_str(&format!(
        "| Ingest on PostgreSQL (resources/s) | {:.0} | SQLite: {:.0} | {:.2} |\n",
        rate(&outcome.postgres),
        rate(&outcome.sqlite),
        rate(&outcome.postgres) / rate(&outcome.sqlite).max(1e-9)
    ));
    out.push_str(&format!(
        "| Fresh replica caught up from the log (s) | {:.2} | raw tantivy parse + index: {:.2} | {:.2} |\n",
        outcome.catch_up_seconds,
        floor_seconds,
        outcome.catch_up_seconds / floor_seconds.max(1e-9)
    ));
    out.push_str(&format!(
        "| Fresh replica caught up from the log (s) | {:.2} | first ingest on PostgreSQL: {:.2} | {:.2} |\n",
        outcome.catch_up_seconds,
        outcome.postgres.seconds,
        outcome.catch_up_seconds / outcome.postgres.seconds.max(1e-9)
    ));
    out.push_str(&format!(
        "| Replication lag p50 (ms) | {:.1} | ingest answered on A, p50: {:.1} | {:.2} |\n",
        ms(outcome.lag.p50),
        ms(outcome.lag_ingest.p50),
        ms(outcome.lag.p50) / ms(outcome.lag_ingest.p50).max(1e-9)
    ));
    out.push_str(&format!(
        "| Replication lag p99 (ms) | {:.1} | ingest answered on A, p99: {:.1} | {:.2} |\n",
        ms(outcome.lag.p99),
        ms(outcome.lag_ingest.p99),
        ms(outcome.lag.p99) / ms(outcome.lag_ingest.p99).max(1e-9)
    ));
    out.push_str(&format!(
        "\nLag: {} one-resource ingests on replica A, one every {} ms, each timed from A's answer until \
         replica B's own index returns it (max {:.1} ms); B polls the log every 200 ms when it has \
         nothing to apply. Both ingests: 2 catalogs at once, 20,000 resources each.\n",
        outcome.lag.num_requests,
        outcome.lag_interval.as_millis(),
        ms(outcome.lag.max),
    ));
    out
}
