//! Live federation (`search(live: true)`): five local Resource Search publishers, one of which
//! accepts connections and never answers, registered as live sources of the running gateway.
//!
//! Written against the contract (`addCatalogSource(input: {url, format: RESOURCE_SEARCH,
//! live: true})`, `SearchConnection.sources` with LIVE/CACHED/TIMEOUT/UNAVAILABLE/ERROR). A gateway without
//! live federation refuses the mutation or never reports a live status: then this answers
//! [`LiveOutcome::NotAvailable`] and the report says so instead of printing numbers.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::measure::LatencyStats;

/// Publishers that answer, plus one that never does.
const NUM_ANSWERING: usize = 4;

/// What the live measurement found.
#[derive(Debug, Clone)]
pub enum LiveOutcome {
    NotAvailable(String),
    Measured {
        deadline: Duration,
        /// Distinct queries, each asking every live source (one of which never answers).
        fan_out: LatencyStats,
        /// How many answers named the dead publisher TIMEOUT (the search waited the deadline).
        num_timeouts: usize,
        /// How many named it UNAVAILABLE (its breaker was open: not asked, not waited for).
        num_unavailable: usize,
        /// A repeated query, answered from the cache: client round trip.
        cached: LatencyStats,
        /// The largest `tookMs` a CACHED source reported in the repeats (server time).
        cached_took_ms_max: Option<i64>,
    },
}

/// The fake publishers, stopped when dropped.
struct FakePublishers {
    bases: Vec<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakePublishers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn rs_resources(Query(params): Query<std::collections::HashMap<String, String>>) -> Json<Value> {
    let term = params.get("filter").cloned().unwrap_or_else(|| "resource".to_string());
    let resources: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "id": format!("LIVE-{i}"),
                "name": format!("Live result {i} for {term}"),
                "description": format!("A resource answered live for {term}."),
                "url": format!("https://live.example.com/r/{i}"),
                "subject": ["Science"],
            })
        })
        .collect();
    Json(json!({ "resources": resources }))
}

async fn start_publishers() -> anyhow::Result<FakePublishers> {
    let mut bases = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..NUM_ANSWERING {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let router = Router::new().route("/ims/rs/v1p0/resources", get(rs_resources));
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
        bases.push(format!("http://{address}/ims/rs/v1p0"));
    }
    // The dead publisher: accepts, holds the connection, never writes a byte.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tasks.push(tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    }));
    bases.push(format!("http://{address}/ims/rs/v1p0"));
    Ok(FakePublishers { bases, tasks })
}

async fn graphql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request =
        client.post(url).json(&json!({ "query": query, "variables": variables })).timeout(Duration::from_secs(30));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.json().await?)
}

const LIVE_SEARCH: &str = "query($q: String) { search(query: $q, first: 10, live: true) { totalCount \
    edges { node { id } } sources { publisher { id } status tookMs } } }";

/// Registers the fake publishers as live sources and measures. Bounded: `num_queries` distinct
/// queries and `num_queries` repeats, each with a client timeout.
pub async fn measure(
    client: &reqwest::Client,
    base_url: &str,
    admin_token: &str,
    deadline: Duration,
    num_queries: usize,
) -> anyhow::Result<LiveOutcome> {
    let url = format!("{base_url}/graphql");
    let publishers = start_publishers().await?;
    let dead_id = format!("live-bench-{}", publishers.bases.len() - 1);
    for (position, base) in publishers.bases.iter().enumerate() {
        let id = format!("live-bench-{position}");
        let registered = graphql(
            client,
            &url,
            Some(admin_token),
            "mutation($input: RegisterPublisherInput!) { registerPublisher(input: $input) { apiKey } }",
            json!({ "input": { "name": format!("Live bench {position}"), "id": id } }),
        )
        .await?;
        let key = registered["data"]["registerPublisher"]["apiKey"]
            .as_str()
            .with_context(|| format!("registerPublisher failed: {registered}"))?
            .to_string();
        let added = graphql(
            client,
            &url,
            Some(&key),
            "mutation($input: CatalogSourceInput!) { addCatalogSource(input: $input) { id live } }",
            json!({ "input": { "url": base, "format": "RESOURCE_SEARCH", "live": true } }),
        )
        .await?;
        if let Some(errors) = added.get("errors") {
            let first = errors[0]["message"].as_str().map(str::to_string).unwrap_or_else(|| errors.to_string());
            return Ok(LiveOutcome::NotAvailable(format!("the schema refused addCatalogSource ({first})")));
        }
    }

    let mut samples = Vec::with_capacity(num_queries);
    let mut num_timeouts = 0;
    let mut num_unavailable = 0;
    let mut saw_live_status = false;
    let started = Instant::now();
    for position in 0..num_queries {
        let sent = Instant::now();
        let answer = graphql(client, &url, None, LIVE_SEARCH, json!({ "q": format!("livebench{position}") })).await?;
        samples.push(sent.elapsed());
        if let Some(errors) = answer.get("errors") {
            return Ok(LiveOutcome::NotAvailable(format!("search(live: true) failed: {errors}")));
        }
        for source in answer["data"]["search"]["sources"].as_array().into_iter().flatten() {
            let status = source["status"].as_str().unwrap_or_default();
            if matches!(status, "LIVE" | "CACHED" | "TIMEOUT" | "UNAVAILABLE" | "ERROR") {
                saw_live_status = true;
            }
            if source["publisher"]["id"] == dead_id.as_str() {
                match status {
                    "TIMEOUT" => num_timeouts += 1,
                    "UNAVAILABLE" => num_unavailable += 1,
                    _ => {}
                }
            }
        }
    }
    let fan_out = LatencyStats::from_samples(samples, started.elapsed());
    if !saw_live_status {
        return Ok(LiveOutcome::NotAvailable(
            "search(live: true) reported no LIVE, CACHED, TIMEOUT or ERROR source".to_string(),
        ));
    }

    // The repeat: the first query again, which the cache should now answer.
    let mut repeats = Vec::with_capacity(num_queries);
    let mut cached_took_ms_max: Option<i64> = None;
    let started = Instant::now();
    for _ in 0..num_queries {
        let sent = Instant::now();
        let answer = graphql(client, &url, None, LIVE_SEARCH, json!({ "q": "livebench0" })).await?;
        repeats.push(sent.elapsed());
        for source in answer["data"]["search"]["sources"].as_array().into_iter().flatten() {
            if source["status"] == "CACHED" {
                if let Some(took) = source["tookMs"].as_i64() {
                    cached_took_ms_max = Some(cached_took_ms_max.map_or(took, |m| m.max(took)));
                }
            }
        }
    }
    let cached = LatencyStats::from_samples(repeats, started.elapsed());
    drop(publishers);
    Ok(LiveOutcome::Measured { deadline, fan_out, num_timeouts, num_unavailable, cached, cached_took_ms_max })
}
