//! The teacher's picker page under the corpus: deep-linking launches written into the data
//! folder's registry (as `/lti/launch` would after validating an id_token), then `GET
//! /lti/picker` pages as a teacher asks them (the first screen, searches from the query mix,
//! searches with filters, a second page, a standard found by code), one at a time. The
//! figure is the server's own time for each page, from its `Server-Timing` header; the round
//! trip is reported beside it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use resource_gateway::registry::{DeepLinkLaunch, LtiStore, Platform, SqlRegistry};

use super::measure::LatencyStats;
use super::queries::BenchQuery;

/// Picker pages measured after the warm-up.
pub const NUM_PAGES: usize = 400;

/// What one kind of picker page cost.
#[derive(Debug, Clone)]
pub struct PickerRow {
    pub label: &'static str,
    pub server: LatencyStats,
    pub round_trip: LatencyStats,
}

/// Every picker page together, then per kind.
#[derive(Debug, Clone)]
pub struct PickerOutcome {
    pub all: PickerRow,
    pub rows: Vec<PickerRow>,
    /// The server time of each launch's first screen, asked first thing after the restart:
    /// nothing remembered yet, the whole index counted.
    pub cold_first_screens: Vec<Duration>,
    /// The pages that took the most server time, slowest first (server time, path).
    pub slowest: Vec<(Duration, String)>,
}

/// Slowest pages kept in [`PickerOutcome::slowest`].
const NUM_SLOWEST: usize = 5;

fn server_time(response: &reqwest::Response, path: &str) -> anyhow::Result<Duration> {
    let millis = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|d| d.split([',', ';']).next())
        .and_then(|d| d.trim().parse::<f64>().ok())
        .with_context(|| format!("{path}: no Server-Timing header"))?;
    Ok(Duration::from_secs_f64(millis / 1000.0))
}

/// Writes a platform and two launches (one from a course named for a grade, one without a
/// course) into the registry of a stopped gateway's data folder; answers the launch ids.
pub async fn seed_launches(data_dir: &Path) -> anyhow::Result<Vec<String>> {
    let registry = SqlRegistry::open_in_data_dir(data_dir).await?;
    let now = Utc::now();
    let platform = Platform {
        id: "bench-lms".to_string(),
        issuer: "https://lms.bench.example".to_string(),
        client_id: "bench-client".to_string(),
        deployment_ids: vec!["1".to_string()],
        auth_login_url: "https://lms.bench.example/auth".to_string(),
        jwks_url: "https://lms.bench.example/jwks".to_string(),
        token_url: None,
        name: Some("Benchmark LMS".to_string()),
        created_at: now,
        deployments_open: false,
    };
    let platform = registry.upsert_platform(&platform).await?;
    let settings = r#"{"deep_link_return_url":"https://lms.bench.example/return","accept_types":["ltiResourceLink","link","file","html","image"],"accept_multiple":true}"#;
    let mut ids = Vec::new();
    for (index, course) in [Some("Grade 5 Science"), None].into_iter().enumerate() {
        let id = format!("bench-launch-{index}-{}", now.timestamp_micros());
        registry
            .insert_launch(&DeepLinkLaunch {
                id: id.clone(),
                platform_id: platform.id.clone(),
                deployment_id: "1".to_string(),
                settings_json: settings.to_string(),
                course_title: course.map(str::to_string),
                locale: Some("en".to_string()),
                created_at: now,
                expires_at: now + chrono::Duration::days(1),
                used_at: None,
            })
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The pages of one run: (kind, path).
fn pages(launches: &[String], mix: &[BenchQuery]) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(NUM_PAGES);
    for index in 0..NUM_PAGES {
        let launch = &launches[index % launches.len()];
        let query = &mix[index % mix.len()];
        let text = encode(&query.text);
        let base = format!("/lti/picker?launch={launch}&searched=1");
        let page = match index % 10 {
            // The first screen: the course's starting point, or the newest of everything.
            0 | 1 => ("first screen (starting point or newest, all facets)", format!("/lti/picker?launch={launch}")),
            2 => {
                ("filters only, no query (grade range and a kind)", format!("{base}&grade_min=3&grade_max=5&kind=LINK"))
            }
            3 => ("second page of a search", format!("{base}&q={text}&page=1")),
            4 => ("standard found by code", format!("{base}&q={text}&standard_q=3.nf")),
            5 | 6 => ("search with filters", format!("{base}&q={text}&grade_min=6&grade_max=8&language=en")),
            _ => ("search", format!("{base}&q={text}")),
        };
        out.push(page);
    }
    out
}

/// Requests the pages one at a time after a warm-up pass over the first 50.
pub async fn measure(
    client: &reqwest::Client,
    base_url: &str,
    launches: &[String],
    mix: &[BenchQuery],
) -> anyhow::Result<PickerOutcome> {
    let pages = pages(launches, mix);
    let mut cold_first_screens = Vec::new();
    for launch in launches {
        let path = format!("/lti/picker?launch={launch}");
        let response = client.get(format!("{base_url}{path}")).send().await?.error_for_status()?;
        cold_first_screens.push(server_time(&response, &path)?);
        response.bytes().await?;
    }
    for (_, path) in pages.iter().take(50) {
        client.get(format!("{base_url}{path}")).send().await?.error_for_status()?.bytes().await?;
    }
    let mut samples: Vec<(&'static str, Duration, Duration)> = Vec::with_capacity(pages.len());
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let started = Instant::now();
    for (label, path) in &pages {
        let sent = Instant::now();
        let response = client.get(format!("{base_url}{path}")).send().await?;
        let status = response.status();
        let timing = server_time(&response, path)?;
        let body = response.bytes().await?;
        let round_trip = sent.elapsed();
        if !status.is_success() || !body.starts_with(b"<!DOCTYPE html>") {
            bail!("{path}: answered {status}");
        }
        samples.push((label, timing, round_trip));
        slowest.push((timing, path.clone()));
        slowest.sort_by_key(|(timing, _)| std::cmp::Reverse(*timing));
        slowest.truncate(NUM_SLOWEST);
    }
    let wall = started.elapsed();
    let row = |label: &'static str, filter: &dyn Fn(&str) -> bool| PickerRow {
        label,
        server: LatencyStats::from_samples(samples.iter().filter(|s| filter(s.0)).map(|s| s.1).collect(), wall),
        round_trip: LatencyStats::from_samples(samples.iter().filter(|s| filter(s.0)).map(|s| s.2).collect(), wall),
    };
    let mut labels: Vec<&'static str> = Vec::new();
    for (label, _, _) in &samples {
        if !labels.contains(label) {
            labels.push(label);
        }
    }
    Ok(PickerOutcome {
        all: row("every picker page", &|_| true),
        rows: labels.into_iter().map(|label| row(label, &|l| l == label)).collect(),
        cold_first_screens,
        slowest,
    })
}
