//! `bench`: the benchmark harness of resource-gateway.
//!
//! One run generates a deterministic corpus, ingests it through the gateway's own path and,
//! beside it, with raw tantivy (the floor); restarts the gateway on the result and sends a
//! fixed query mix as GraphQL over HTTP at concurrency 1 and 16, and the same requests
//! in-process on the index (the floor); measures live federation where the build has it; and
//! prints one table with every figure and its ratio to the floor, also written as Markdown.
//!
//! Ingest, the raw floor and the server each run in a child process (this executable with a
//! hidden subcommand), so peak memory (`VmHWM`) belongs to one job and "ready after restart"
//! is a real process start on an existing data folder.
//!
//! ```sh
//! cargo run --release --bin bench                         # 100,000 resources
//! cargo run --release --bin bench -- --resources 1000000  # a million
//! ```

mod corpus;
mod live;
mod measure;
mod picker;
mod queries;
mod relevance;
mod replicas;
mod report;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use resource_gateway::auth::Principal;
use resource_gateway::catalog::{self, Limits};
use resource_gateway::config::Config;
use resource_gateway::index::{document, schema, SearchIndex, WRITER_MEMORY_BYTES, WRITER_THREADS};
use resource_gateway::ingest::{IngestOptions, IngestStatus};
use resource_gateway::resource::{CatalogFormat, PublisherId, ResourceRecord};
use resource_gateway::App;
use serde::{Deserialize, Serialize};

use corpus::{DocFormat, Manifest};
use measure::{LatencyStats, Memory};

/// The file that marks a work folder as the harness's own, so a run may wipe it.
const WORK_MARKER: &str = ".bench-work";

/// The admin token of the benchmark's gateway (local, throwaway data folder).
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

#[derive(Parser)]
#[command(name = "bench", about = "Benchmark harness: ingest, search and live federation of resource-gateway")]
struct Cli {
    #[command(subcommand)]
    child: Option<ChildCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Resources in the synthetic corpus
    #[arg(long, default_value_t = 100_000)]
    resources: usize,
    /// Queries in the search mix
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Seed of the corpus and the query mix
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Resources per catalog document (each document is one ingest, one commit)
    #[arg(long, default_value_t = 20_000)]
    per_document: usize,
    /// Catalog documents ingested at once (publishers pushing at the same time)
    #[arg(long, default_value_t = 2)]
    ingest_concurrency: usize,
    /// Search concurrencies to measure, comma-separated
    #[arg(long, default_value = "1,16", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Work folder (corpus, data folders); wiped at the start
    #[arg(long, default_value = "target/bench-work")]
    work_dir: PathBuf,
    /// Where to write the Markdown results [default: <work dir>/results.md]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Deadline of live federated queries
    #[arg(long, default_value_t = 500)]
    live_deadline_ms: u64,
    /// Live federated queries to send (distinct, then as many cached repeats)
    #[arg(long, default_value_t = 40)]
    live_queries: usize,
    /// Keep the work folder afterwards (it is deleted otherwise)
    #[arg(long)]
    keep: bool,
}

#[derive(Subcommand)]
enum ChildCommand {
    /// (internal) ingest the corpus through the gateway and report
    #[command(hide = true, name = "ingest-child")]
    Ingest { corpus: PathBuf, data_dir: PathBuf, concurrency: usize },
    /// (internal) index the corpus with raw tantivy and report
    #[command(hide = true, name = "floor-ingest-child")]
    FloorIngest { corpus: PathBuf, index_dir: PathBuf },
    /// Runs the query mix in-process on a kept data folder, for profiling (`perf record`)
    #[command(name = "profile-search")]
    ProfileSearch {
        /// The work folder of a run made with --keep
        work_dir: PathBuf,
        #[command(flatten)]
        mix: MixArgs,
    },
    /// Sends the query mix over HTTP to a running gateway, for profiling the server
    #[command(name = "profile-http")]
    ProfileHttp {
        /// The work folder of a run made with --keep (for the corpus manifest)
        work_dir: PathBuf,
        /// The gateway's base URL, e.g. http://127.0.0.1:8080
        url: String,
        #[command(flatten)]
        mix: MixArgs,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
    /// Scores the hand-judged queries of relevance/judgments.toml (NDCG@10) on the bundled
    /// samples and on a bench corpus, built here or taken from a run made with --keep
    #[command(name = "relevance")]
    Relevance {
        /// Resources in the corpus to build (ignored with --from)
        #[arg(long, default_value_t = 3_000)]
        resources: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Work folder (corpus, data folders); wiped at the start
        #[arg(long, default_value = "target/bench-relevance")]
        work_dir: PathBuf,
        /// The work folder of a run made with --keep: score its corpus instead of building one
        #[arg(long)]
        from: Option<PathBuf>,
        /// Fail when a set's mean falls below its floor in judgments.toml
        #[arg(long)]
        check: bool,
        /// Judgments to use instead of the compiled-in relevance/judgments.toml
        #[arg(long)]
        judgments: Option<PathBuf>,
        /// Also print every query's hits with their grades (on standard error)
        #[arg(long)]
        show_hits: bool,
    },
    /// Measures the picker's pages on a kept data folder (a run made with --keep), for profiling
    #[command(name = "profile-picker")]
    ProfilePicker {
        /// The work folder of a run made with --keep
        work_dir: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Measures replicas on one PostgreSQL: ingest there against SQLite, a fresh replica's
    /// catch-up from the catalog log, replication lag under continuous ingest
    #[command(name = "replicas")]
    Replicas {
        /// A throwaway PostgreSQL server's admin URL; a database is created (and dropped) on it
        #[arg(long, env = "RG_BENCH_POSTGRES_URL")]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        resources: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// One-resource ingests timed for the lag
        #[arg(long, default_value_t = 300)]
        lag_samples: usize,
        /// Milliseconds between those ingests
        #[arg(long, default_value_t = 20)]
        lag_interval_ms: u64,
        /// Work folder (corpus, data folders); wiped at the start
        #[arg(long, default_value = "target/bench-replicas")]
        work_dir: PathBuf,
        /// Where to write the Markdown results [default: <work dir>/results.md]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// (internal) serve a data folder until standard input closes
    #[command(hide = true, name = "serve-child")]
    Serve { data_dir: PathBuf, live_deadline_ms: u64 },
}

/// The query mix the profiling commands replay, and how often.
#[derive(clap::Args, Debug, Clone, Copy)]
struct MixArgs {
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// What the gateway's ingest did, as the child reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestOutcome {
    pub num_documents: usize,
    pub num_resources: usize,
    pub seconds: f64,
    /// CPU seconds the process used during those `seconds`.
    pub cpu_seconds: f64,
    /// Closing the writer (waiting for background merges); not part of the rate.
    pub close_seconds: f64,
    pub memory: Memory,
    pub index_bytes: u64,
    pub data_bytes: u64,
}

/// What raw tantivy did with the same documents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FloorIngestOutcome {
    pub num_resources: usize,
    /// Parsing and building the tantivy documents beforehand (not part of the rate).
    pub build_seconds: f64,
    /// `add_document` of every document and one commit.
    pub seconds: f64,
    pub cpu_seconds: f64,
    /// Waiting for the merges the commit started; not part of the rate.
    #[serde(default)]
    pub close_seconds: f64,
    pub memory: Memory,
    pub index_bytes: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.child {
        Some(ChildCommand::Ingest { corpus, data_dir, concurrency }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let outcome = runtime.block_on(ingest_child(&corpus, &data_dir, concurrency, None))?;
            println!("{}", serde_json::to_string(&outcome)?);
            Ok(())
        }
        Some(ChildCommand::FloorIngest { corpus, index_dir }) => {
            let outcome = floor_ingest_child(&corpus, &index_dir)?;
            println!("{}", serde_json::to_string(&outcome)?);
            Ok(())
        }
        Some(ChildCommand::Serve { data_dir, live_deadline_ms }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve_child(data_dir, live_deadline_ms))
        }
        Some(ChildCommand::ProfileSearch { work_dir, mix }) => profile_search(&work_dir, mix),
        Some(ChildCommand::Relevance { resources, seed, work_dir, from, check, judgments, show_hits }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let judgments = relevance::Judgments::load(judgments.as_deref())?;
            let options = RelevanceOptions { num_resources: resources, seed, from, check, show_hits };
            runtime.block_on(relevance_command(judgments, &work_dir, options))
        }
        Some(ChildCommand::ProfilePicker { work_dir, seed }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(profile_picker(&work_dir, seed))
        }
        Some(ChildCommand::Replicas { database_url, resources, seed, lag_samples, lag_interval_ms, work_dir, out }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let options = replicas::ReplicaOptions {
                server_url: database_url,
                num_resources: resources,
                seed,
                lag_samples,
                lag_interval: Duration::from_millis(lag_interval_ms.max(1)),
            };
            let outcome = runtime.block_on(replicas::run(&work_dir, &options))?;
            let text = replicas::markdown(&outcome);
            println!("{text}");
            let out = out.unwrap_or_else(|| work_dir.join("results.md"));
            std::fs::write(&out, &text).with_context(|| format!("cannot write {}", out.display()))?;
            Ok(())
        }
        Some(ChildCommand::ProfileHttp { work_dir, url, mix, concurrency }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(profile_http(&work_dir, &url, mix, concurrency))
        }
        None => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(run(cli.run))
        }
    }
}

/// Wipes and recreates a work folder. Only a folder this harness made (or an empty one) is
/// wiped: `--work-dir` may be mistyped.
fn fresh_work_dir(work: &Path) -> anyhow::Result<()> {
    let marker = work.join(WORK_MARKER);
    if work.exists() {
        let is_empty = std::fs::read_dir(work)?.next().is_none();
        if !is_empty && !marker.exists() {
            bail!("{} is not empty and is not a bench work folder: choose another --work-dir", work.display());
        }
        std::fs::remove_dir_all(work)?;
    }
    std::fs::create_dir_all(work)?;
    std::fs::write(&marker, "made by the resource-gateway benchmark harness; wiped by its next run\n")?;
    Ok(())
}

/// An index holding the bundled sample catalogs, loaded the way a first start loads them.
async fn samples_index(dir: &Path) -> anyhow::Result<SearchIndex> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let mut config = bench_config(dir);
    config.load_samples = true;
    let app = App::open(config, "http://127.0.0.1:8080".to_string()).await?;
    app.ingest.load_samples_if_empty().await.map_err(|err| anyhow!("loading the samples: {err}"))?;
    app.close().await;
    drop(app);
    Ok(SearchIndex::open_read_only(&dir.join("tantivy"))?)
}

/// NDCG@10 of both judged sets: the samples (indexed into `samples_dir`) and the corpus of
/// `corpus_dir` on `index`.
async fn score_relevance(
    judgments: Arc<relevance::Judgments>,
    index: Arc<SearchIndex>,
    corpus_dir: &Path,
    samples_dir: &Path,
) -> anyhow::Result<relevance::RelevanceOutcome> {
    let samples = Arc::new(samples_index(samples_dir).await?);
    let corpus_dir = corpus_dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<relevance::RelevanceOutcome> {
        Ok(relevance::RelevanceOutcome {
            samples: relevance::score_samples(&samples, &judgments.samples)?,
            bench: relevance::score_bench(&index, &corpus_dir, &judgments.bench)?,
        })
    })
    .await?
}

/// What `bench relevance` was asked.
struct RelevanceOptions {
    num_resources: usize,
    seed: u64,
    from: Option<PathBuf>,
    check: bool,
    show_hits: bool,
}

async fn relevance_command(
    judgments: relevance::Judgments,
    work_dir: &Path,
    options: RelevanceOptions,
) -> anyhow::Result<()> {
    let RelevanceOptions { num_resources, seed, from, check, show_hits } = options;
    let judgments = Arc::new(judgments);
    fresh_work_dir(work_dir)?;
    let (corpus_dir, data_dir) = match from {
        Some(kept) => (kept.join("corpus"), kept.join("data")),
        None => {
            let corpus_dir = work_dir.join("corpus");
            let data_dir = work_dir.join("data");
            corpus::write_corpus(&corpus_dir, num_resources, 20_000, seed)?;
            ingest_child(&corpus_dir, &data_dir, 2, None).await?;
            (corpus_dir, data_dir)
        }
    };
    let manifest = Manifest::read(&corpus_dir)?;
    let index = Arc::new(SearchIndex::open_read_only(&data_dir.join("tantivy"))?);
    let outcome = score_relevance(judgments.clone(), index, &corpus_dir, &work_dir.join("samples")).await?;
    println!("{}", relevance::markdown(&outcome, manifest.num_resources));
    if show_hits {
        eprintln!("{}", relevance::hits_text(&outcome));
    }
    if check {
        let (samples, bench) = (outcome.samples.mean(), outcome.bench.mean());
        if samples < judgments.floors.samples || bench < judgments.floors.bench {
            bail!(
                "mean NDCG@10 fell below its floor: samples {samples:.3} (floor {}), bench {bench:.3} (floor {})",
                judgments.floors.samples,
                judgments.floors.bench
            );
        }
    }
    Ok(())
}

fn catalog_format(format: DocFormat) -> CatalogFormat {
    match format {
        DocFormat::ResourceSearch => CatalogFormat::ResourceSearch,
        DocFormat::Lrmi => CatalogFormat::Lrmi,
    }
}

fn bench_config(data_dir: &Path) -> Config {
    let mut config = Config::with_data_dir(data_dir);
    config.load_samples = false;
    config.admin_token = Some(ADMIN_TOKEN.to_string());
    config
}

/// Ingests the corpus through the gateway on `data_dir` (its registry there, or on `database`).
async fn ingest_child(
    corpus: &Path,
    data_dir: &Path,
    concurrency: usize,
    database: Option<&str>,
) -> anyhow::Result<IngestOutcome> {
    let manifest = Manifest::read(corpus)?;
    let config = match database {
        Some(url) => replicas::replica_config(data_dir, url),
        None => bench_config(data_dir),
    };
    let gateway = App::open(config, "http://127.0.0.1:8080".to_string()).await?;
    for publisher in &manifest.publishers {
        gateway
            .publishers
            .register(&Principal::Admin, &publisher.name, Some(&publisher.id), None)
            .await
            .map_err(|err| anyhow!("register {}: {err}", publisher.id))?;
    }
    let started = Instant::now();
    let cpu_started = measure::cpu_seconds();
    let gateway_ref = &gateway;
    let reports: Vec<anyhow::Result<usize>> = futures_util::stream::iter(manifest.documents.iter())
        .map(|document| async move {
            let bytes = tokio::fs::read(&document.path).await?;
            let publisher = PublisherId::parse(&document.publisher)?;
            let options = IngestOptions { source: Some(document.source.clone()), mode: None };
            let report = gateway_ref
                .ingest
                .ingest(&Principal::Admin, &publisher, catalog_format(document.format), bytes, options)
                .await
                .map_err(|err| anyhow!("ingest {}: {err}", document.path.display()))?;
            if report.status != IngestStatus::Succeeded || report.added != document.num_resources {
                bail!(
                    "ingest {}: {} with {} added of {} ({:?})",
                    document.path.display(),
                    report.status.as_str(),
                    report.added,
                    document.num_resources,
                    report.diagnostics.first()
                );
            }
            Ok(report.added)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = measure::cpu_seconds() - cpu_started;
    let mut num_resources = 0;
    for report in reports {
        num_resources += report?;
    }
    let closing = Instant::now();
    gateway.close().await;
    let close_seconds = closing.elapsed().as_secs_f64();
    Ok(IngestOutcome {
        num_documents: manifest.documents.len(),
        num_resources,
        seconds,
        cpu_seconds,
        close_seconds,
        memory: measure::memory_of("self"),
        index_bytes: measure::disk_usage(&data_dir.join("tantivy")),
        data_bytes: measure::disk_usage(data_dir),
    })
}

fn floor_ingest_child(corpus: &Path, index_dir: &Path) -> anyhow::Result<FloorIngestOutcome> {
    let manifest = Manifest::read(corpus)?;
    let (tantivy_schema, fields) = schema::build();
    let building = Instant::now();
    let mut documents = Vec::with_capacity(manifest.num_resources);
    for spec in &manifest.documents {
        let bytes = std::fs::read(&spec.path)?;
        let format = catalog_format(spec.format);
        let parsed = catalog::parse(format, &bytes, &Limits::default())
            .map_err(|err| anyhow!("{}: {err}", spec.path.display()))?;
        let publisher = PublisherId::parse(&spec.publisher)?;
        for resource in parsed.resources {
            let record =
                ResourceRecord { publisher: publisher.clone(), source_id: spec.source.clone(), format, resource };
            documents.push(document::to_document(&fields, &record)?);
        }
    }
    let build_seconds = building.elapsed().as_secs_f64();
    if index_dir.exists() {
        std::fs::remove_dir_all(index_dir)?;
    }
    std::fs::create_dir_all(index_dir)?;
    let index =
        tantivy::Index::builder().schema(tantivy_schema).settings(schema::settings()).create_in_dir(index_dir)?;
    schema::register_tokenizers(&index);
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)?;
    let num_resources = documents.len();
    let started = Instant::now();
    let cpu_started = measure::cpu_seconds();
    for doc in documents {
        writer.add_document(doc)?;
    }
    writer.commit()?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = measure::cpu_seconds() - cpu_started;
    let closing = Instant::now();
    writer.wait_merging_threads()?;
    let close_seconds = closing.elapsed().as_secs_f64();
    Ok(FloorIngestOutcome {
        num_resources,
        build_seconds,
        seconds,
        cpu_seconds,
        close_seconds,
        memory: measure::memory_of("self"),
        index_bytes: measure::disk_usage(index_dir),
    })
}

async fn serve_child(data_dir: PathBuf, live_deadline_ms: u64) -> anyhow::Result<()> {
    let mut config = bench_config(&data_dir);
    // The live-federation publishers run on loopback.
    config.allow_networks = vec!["127.0.0.1/32".parse()?];
    config.live_deadline = Duration::from_millis(live_deadline_ms);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("LISTENING {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    // Serve until the parent closes our standard input (or exits), so the child cannot outlive it.
    let shutdown = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
    };
    resource_gateway::serve(config, listener, shutdown).await?;
    Ok(())
}

fn profile_search(work_dir: &Path, args: MixArgs) -> anyhow::Result<()> {
    let manifest = Manifest::read(&work_dir.join("corpus"))?;
    let mix = queries::query_mix(args.queries, args.seed, &manifest);
    let requests = Arc::new(mix.iter().map(|q| q.search_request()).collect::<Vec<_>>());
    let index = Arc::new(SearchIndex::open_read_only(&work_dir.join("data").join("tantivy"))?);
    let first = Instant::now();
    index.search(&requests[0])?;
    eprintln!("first search (starts the vocabulary build, expands fuzzy words per segment): {:?}", first.elapsed());
    for round in 0..args.rounds {
        let (stats, _) = measure::floor_load(&index, &requests, 1)?;
        eprintln!("round {round}: {:.0} q/s, p50 {:?}, p99 {:?}", stats.throughput(), stats.p50, stats.p99);
    }
    Ok(())
}

async fn profile_picker(work_dir: &Path, seed: u64) -> anyhow::Result<()> {
    let manifest = Manifest::read(&work_dir.join("corpus"))?;
    let mix = queries::query_mix(1_000, seed, &manifest);
    let data_dir = work_dir.join("data");
    let launches = picker::seed_launches(&data_dir).await?;
    let client = reqwest::Client::new();
    let mut server = ServerChild::start(&data_dir, 500, &client).await?;
    let outcome = picker::measure(&client, &server.base_url, &launches, &mix).await;
    server.stop();
    let outcome = outcome?;
    eprintln!("cold first screens: {:?}", outcome.cold_first_screens);
    for row in std::iter::once(&outcome.all).chain(&outcome.rows) {
        eprintln!(
            "{}: {} pages, server p50 {:?} p99 {:?} max {:?}",
            row.label, row.server.num_requests, row.server.p50, row.server.p99, row.server.max
        );
    }
    for (timing, path) in &outcome.slowest {
        eprintln!("slow page: {timing:?} {path}");
    }
    Ok(())
}

async fn profile_http(work_dir: &Path, url: &str, args: MixArgs, concurrency: usize) -> anyhow::Result<()> {
    let manifest = Manifest::read(&work_dir.join("corpus"))?;
    let mix = queries::query_mix(args.queries, args.seed, &manifest);
    let bodies = Arc::new(mix.iter().map(|q| q.graphql_body()).collect::<Vec<_>>());
    let client = reqwest::Client::new();
    let graphql_url = format!("{}/graphql", url.trim_end_matches('/'));
    for round in 0..args.rounds {
        let (stats, _) = measure::http_load(&client, &graphql_url, bodies.clone(), concurrency).await?;
        eprintln!("round {round}: {:.0} q/s, p50 {:?}, p99 {:?}", stats.throughput(), stats.p50, stats.p99);
    }
    Ok(())
}

/// Runs this executable with a child subcommand and reads the JSON it prints last.
fn run_child<T: for<'de> Deserialize<'de>>(args: &[&std::ffi::OsStr]) -> anyhow::Result<T> {
    let output = Command::new(std::env::current_exe()?).args(args).stderr(Stdio::inherit()).output()?;
    if !output.status.success() {
        bail!("child {:?} failed with {}", args.first(), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().context("child printed nothing")?;
    Ok(serde_json::from_str(last)?)
}

/// The gateway server in a child process; stopped (standard input closed) when dropped.
struct ServerChild {
    child: Child,
    base_url: String,
    ready: Duration,
}

impl ServerChild {
    async fn start(data_dir: &Path, live_deadline_ms: u64, client: &reqwest::Client) -> anyhow::Result<Self> {
        let spawned = Instant::now();
        let mut child = Command::new(std::env::current_exe()?)
            .arg("serve-child")
            .arg(data_dir)
            .arg(live_deadline_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("child stdout")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let address = line.trim().strip_prefix("LISTENING ").with_context(|| format!("server child said {line:?}"))?;
        let base_url = format!("http://{address}");
        let mut server = Self { child, base_url, ready: Duration::ZERO };
        let give_up = spawned + Duration::from_secs(300);
        loop {
            let probe = client.get(format!("{}/readyz", server.base_url)).timeout(Duration::from_secs(5)).send().await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > give_up {
                server.stop();
                bail!("the gateway did not become ready in 300 s");
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("the gateway exited with {status} before it was ready");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.ready = spawned.elapsed();
        Ok(server)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Closes standard input (the child's shutdown signal) and waits up to a minute.
    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything one run measured, for the report.
pub struct Results {
    pub args_resources: usize,
    pub num_queries: usize,
    pub seed: u64,
    pub per_document: usize,
    pub ingest_concurrency: usize,
    pub machine: report::Machine,
    pub corpus_documents: usize,
    pub corpus_bytes: u64,
    pub generate_seconds: f64,
    pub ingest: IngestOutcome,
    pub floor_ingest: FloorIngestOutcome,
    pub ready: Duration,
    pub serving_memory: Memory,
    /// (concurrency, HTTP, floor)
    pub search: Vec<(usize, LatencyStats, LatencyStats)>,
    /// Per query category, at concurrency 1.
    pub categories: Vec<report::CategoryRow>,
    pub num_errors: usize,
    pub num_count_mismatches: usize,
    pub num_zero_hit_queries: usize,
    pub live: live::LiveOutcome,
    pub relevance: relevance::RelevanceOutcome,
    /// The picker's pages (an error message when they could not be measured).
    pub picker: Result<picker::PickerOutcome, String>,
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let work = args.work_dir.clone();
    fresh_work_dir(&work)?;
    let corpus_dir = work.join("corpus");
    let data_dir = work.join("data");
    let floor_dir = work.join("floor-index");

    eprintln!("bench: generating {} resources", args.resources);
    let generating = Instant::now();
    let manifest = corpus::write_corpus(&corpus_dir, args.resources, args.per_document.max(1), args.seed)?;
    let generate_seconds = generating.elapsed().as_secs_f64();
    eprintln!(
        "bench: {} documents, {:.1} MiB in {generate_seconds:.1} s; ingesting through the gateway",
        manifest.documents.len(),
        manifest.num_bytes() as f64 / 1048576.0
    );

    let concurrency = args.ingest_concurrency.to_string();
    let ingest: IngestOutcome =
        run_child(&["ingest-child".as_ref(), corpus_dir.as_os_str(), data_dir.as_os_str(), concurrency.as_ref()])?;
    eprintln!(
        "bench: gateway ingest {:.0} resources/s; raw tantivy floor",
        ingest.num_resources as f64 / ingest.seconds
    );
    let floor_ingest: FloorIngestOutcome =
        run_child(&["floor-ingest-child".as_ref(), corpus_dir.as_os_str(), floor_dir.as_os_str()])?;
    std::fs::remove_dir_all(&floor_dir).ok();
    eprintln!(
        "bench: floor {:.0} resources/s; restarting the gateway",
        floor_ingest.num_resources as f64 / floor_ingest.seconds
    );

    let launches = picker::seed_launches(&data_dir).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let mut server = ServerChild::start(&data_dir, args.live_deadline_ms, &client).await?;
    let graphql_url = format!("{}/graphql", server.base_url);
    let mix = queries::query_mix(args.queries, args.seed, &manifest);
    let bodies = Arc::new(mix.iter().map(|q| q.graphql_body()).collect::<Vec<_>>());
    let requests = Arc::new(mix.iter().map(|q| q.search_request()).collect::<Vec<_>>());

    eprintln!("bench: ready in {:.2} s; warming up, then {} queries over HTTP", server.ready.as_secs_f64(), mix.len());
    measure::http_load(&client, &graphql_url, bodies.clone(), 2).await?;
    let mut http_runs = Vec::new();
    for &concurrency in &args.concurrency {
        let (stats, answers) = measure::http_load(&client, &graphql_url, bodies.clone(), concurrency).await?;
        eprintln!(
            "bench: HTTP c{concurrency}: {:.0} q/s, p50 {:?}, p99 {:?}",
            stats.throughput(),
            stats.p50,
            stats.p99
        );
        http_runs.push((concurrency, stats, answers));
    }
    let serving_memory = measure::memory_of(&server.pid());

    eprintln!("bench: the same requests in-process (floor)");
    let index_dir = data_dir.join("tantivy");
    let index = Arc::new(tokio::task::spawn_blocking(move || SearchIndex::open_read_only(&index_dir)).await??);
    let floor_runs: Vec<FloorRun> = {
        let index = index.clone();
        let requests = requests.clone();
        let levels = args.concurrency.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<FloorRun>> {
            measure::floor_load(&index, &requests, 2)?;
            let mut runs = Vec::new();
            for concurrency in levels {
                let (stats, answers) = measure::floor_load(&index, &requests, concurrency)?;
                eprintln!(
                    "bench: floor c{concurrency}: {:.0} q/s, p50 {:?}, p99 {:?}",
                    stats.throughput(),
                    stats.p50,
                    stats.p99
                );
                runs.push((concurrency, stats, answers));
            }
            Ok(runs)
        })
        .await??
    };

    let mut num_errors = 0;
    let mut num_count_mismatches = 0;
    let mut num_zero_hit_queries = 0;
    let floor_totals: Vec<u64> =
        floor_runs.first().map(|run| run.2.iter().map(|(_, t)| *t).collect()).unwrap_or_default();
    for (_, _, answers) in &http_runs {
        for (answer, floor_total) in answers.iter().zip(&floor_totals) {
            if let Some(error) = &answer.error {
                if num_errors < 3 {
                    eprintln!("bench: query error: {error}");
                }
                num_errors += 1;
            } else if answer.total_count != Some(*floor_total)
                || answer.num_hits as u64 != (*floor_total).min(queries::PAGE_SIZE as u64)
            {
                num_count_mismatches += 1;
            }
        }
    }
    for total in &floor_totals {
        if *total == 0 {
            num_zero_hit_queries += 1;
        }
    }
    let categories = category_breakdown(&mix, &http_runs, &floor_runs);

    eprintln!("bench: {} picker pages", picker::NUM_PAGES);
    let picker = picker::measure(&client, &server.base_url, &launches, &mix).await.map_err(|err| format!("{err:#}"));
    if let Ok(outcome) = &picker {
        eprintln!("bench: picker server time p50 {:?}, p99 {:?}", outcome.all.server.p50, outcome.all.server.p99);
    }

    eprintln!("bench: live federation");
    let live = live::measure(
        &client,
        &server.base_url,
        ADMIN_TOKEN,
        Duration::from_millis(args.live_deadline_ms),
        args.live_queries,
    )
    .await
    .unwrap_or_else(|err| live::LiveOutcome::NotAvailable(format!("measurement failed: {err:#}")));
    server.stop();

    eprintln!("bench: relevance of the judged queries");
    let judgments = Arc::new(relevance::Judgments::load(None)?);
    let relevance = score_relevance(judgments, index, &corpus_dir, &work.join("samples")).await?;

    let search = http_runs
        .iter()
        .filter_map(|(concurrency, http, _)| {
            floor_runs.iter().find(|(c, _, _)| c == concurrency).map(|(_, floor, _)| (*concurrency, *http, *floor))
        })
        .collect();
    let results = Results {
        args_resources: args.resources,
        num_queries: mix.len(),
        seed: args.seed,
        per_document: args.per_document,
        ingest_concurrency: args.ingest_concurrency,
        machine: report::Machine::detect(),
        corpus_documents: manifest.documents.len(),
        corpus_bytes: manifest.num_bytes(),
        generate_seconds,
        ingest,
        floor_ingest,
        ready: server.ready,
        serving_memory,
        search,
        categories,
        num_errors,
        num_count_mismatches,
        num_zero_hit_queries,
        live,
        relevance,
        picker,
    };
    let markdown = report::markdown(&results);
    println!("{markdown}");
    let out = args.out.clone().unwrap_or_else(|| work.join("results.md"));
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, &markdown)?;
    eprintln!("bench: results written to {}", out.display());
    drop(server);
    if !args.keep {
        std::fs::remove_dir_all(&corpus_dir).ok();
        std::fs::remove_dir_all(&data_dir).ok();
        std::fs::remove_dir_all(work.join("samples")).ok();
    }
    if results.num_errors > 0 || results.num_count_mismatches > 0 {
        bail!(
            "{} queries failed and {} totals differed from the in-process floor",
            results.num_errors,
            results.num_count_mismatches
        );
    }
    Ok(())
}

type HttpRun = (usize, LatencyStats, Vec<measure::Answer>);
type FloorRun = (usize, LatencyStats, Vec<(Duration, u64)>);

/// p50 and p99 per query category at concurrency 1, over HTTP and in-process.
fn category_breakdown(
    mix: &[queries::BenchQuery],
    http_runs: &[HttpRun],
    floor_runs: &[FloorRun],
) -> Vec<report::CategoryRow> {
    let (Some(http), Some(floor)) = (http_runs.iter().find(|r| r.0 == 1), floor_runs.iter().find(|r| r.0 == 1)) else {
        return Vec::new();
    };
    let mut categories: Vec<queries::Category> = mix.iter().map(|q| q.category).collect();
    categories.sort();
    categories.dedup();
    let mut out = Vec::new();
    for category in categories {
        let positions: Vec<usize> = (0..mix.len()).filter(|&i| mix[i].category == category).collect();
        let http_samples = positions.iter().filter_map(|&i| http.2.get(i).map(|a| a.latency)).collect();
        let floor_samples = positions.iter().filter_map(|&i| floor.2.get(i).map(|(latency, _)| *latency)).collect();
        out.push(report::CategoryRow {
            label: category.label(),
            num_queries: positions.len(),
            total_hits: positions.iter().filter_map(|&i| floor.2.get(i).map(|(_, total)| *total)).sum(),
            http: LatencyStats::from_samples(http_samples, Duration::ZERO),
            floor: LatencyStats::from_samples(floor_samples, Duration::ZERO),
        });
    }
    out
}
