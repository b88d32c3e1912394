//! Measuring: latency statistics, process memory from `/proc`, disk usage, and the two search
//! load generators (GraphQL over HTTP, and in-process on the index: the floor).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use resource_gateway::index::{SearchIndex, SearchRequest};
use serde_json::Value;

/// Throughput and latency of one load run.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatencyStats {
    pub num_requests: usize,
    pub wall: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LatencyStats {
    pub fn from_samples(mut samples: Vec<Duration>, wall: Duration) -> Self {
        samples.sort_unstable();
        let at = |q: f64| -> Duration {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            // Nearest-rank percentile: the smallest sample with at least q of them at or below.
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1]
        };
        Self {
            num_requests: samples.len(),
            wall,
            p50: at(0.50),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }

    pub fn throughput(&self) -> f64 {
        if self.wall.is_zero() {
            return 0.0;
        }
        self.num_requests as f64 / self.wall.as_secs_f64()
    }
}

/// Memory figures of a process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// Peak resident set ("high water mark").
    pub vm_hwm_kib: u64,
    pub vm_rss_kib: u64,
    /// Resident anonymous memory (heap): what the process itself allocated.
    pub rss_anon_kib: u64,
    /// Resident file-backed pages (the memory-mapped index): the kernel may drop them.
    pub rss_file_kib: u64,
}

/// Reads the memory figures of `pid` ("self" for this process).
pub fn memory_of(pid: &str) -> Memory {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Memory::default();
    };
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory {
        vm_hwm_kib: field("VmHWM:"),
        vm_rss_kib: field("VmRSS:"),
        rss_anon_kib: field("RssAnon:"),
        rss_file_kib: field("RssFile:"),
    }
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (Linux counts
/// in 1/100 s). Beside wall time it shows how much of the two cores a phase kept busy.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) closed by ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |at: usize| fields.get(at).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes of every file under `path`.
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            total += disk_usage(&entry.path());
        } else if let Ok(metadata) = entry.metadata() {
            total += metadata.len();
        }
    }
    total
}

/// What one GraphQL search answered, for the cross-check against the floor.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub latency: Duration,
    pub total_count: Option<u64>,
    pub num_hits: usize,
    pub error: Option<String>,
}

fn read_answer(body: &[u8]) -> Answer {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Answer { error: Some("response is not JSON".into()), ..Answer::default() };
    };
    if let Some(errors) = value.get("errors") {
        return Answer { error: Some(errors.to_string()), ..Answer::default() };
    }
    let search = &value["data"]["search"];
    Answer {
        total_count: search["totalCount"].as_u64(),
        num_hits: search["edges"].as_array().map(Vec::len).unwrap_or(0),
        ..Answer::default()
    }
}

/// Sends every body once, `concurrency` at a time, and answers the statistics and the answers
/// in query order. Bounded: each request has a timeout, and the run stops after the list.
pub async fn http_load(
    client: &reqwest::Client,
    url: &str,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
) -> anyhow::Result<(LatencyStats, Vec<Answer>)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let client = client.clone();
        let url = url.to_string();
        let bodies = bodies.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut results: Vec<(usize, Duration, Answer)> = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else { break };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let answer = match response {
                    Ok(response) => match response.bytes().await {
                        Ok(bytes) => read_answer(&bytes),
                        Err(err) => Answer { error: Some(err.to_string()), ..Answer::default() },
                    },
                    Err(err) => Answer { error: Some(err.to_string()), ..Answer::default() },
                };
                let latency = sent.elapsed();
                results.push((index, latency, Answer { latency, ..answer }));
            }
            results
        }));
    }
    let mut all = Vec::with_capacity(bodies.len());
    for worker in workers {
        all.extend(worker.await.context("load worker panicked")?);
    }
    let wall = started.elapsed();
    all.sort_by_key(|(index, _, _)| *index);
    let samples = all.iter().map(|(_, latency, _)| *latency).collect();
    let answers = all.into_iter().map(|(_, _, answer)| answer).collect();
    Ok((LatencyStats::from_samples(samples, wall), answers))
}

/// Runs every request once on `concurrency` threads straight on the index: the floor. Answers
/// the statistics and, in query order, each latency and exact total.
pub fn floor_load(
    index: &Arc<SearchIndex>,
    requests: &Arc<Vec<SearchRequest>>,
    concurrency: usize,
) -> anyhow::Result<(LatencyStats, Vec<(Duration, u64)>)> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<anyhow::Result<Vec<(usize, Duration, u64)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..concurrency.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let position = next.fetch_add(1, Ordering::Relaxed);
                        let Some(request) = requests.get(position) else { break };
                        let sent = Instant::now();
                        let results = index.search(request)?;
                        out.push((position, sent.elapsed(), results.total as u64));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("floor thread panicked"))))
            .collect()
    });
    let wall = started.elapsed();
    let mut all = Vec::new();
    for result in results {
        all.extend(result?);
    }
    if all.len() != requests.len() {
        bail!("floor ran {} of {} queries", all.len(), requests.len());
    }
    all.sort_by_key(|(position, _, _)| *position);
    let samples = all.iter().map(|(_, latency, _)| *latency).collect();
    let answers = all.into_iter().map(|(_, latency, total)| (latency, total)).collect();
    Ok((LatencyStats::from_samples(samples, wall), answers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let stats = LatencyStats::from_samples(samples, Duration::from_secs(2));
        assert_eq!(stats.p50, Duration::from_millis(50));
        assert_eq!(stats.p99, Duration::from_millis(99));
        assert_eq!(stats.max, Duration::from_millis(100));
        assert_eq!(stats.throughput(), 50.0);
        assert_eq!(LatencyStats::from_samples(Vec::new(), Duration::ZERO).p99, Duration::ZERO);
    }

    #[test]
    fn test_reads_own_memory() {
        let memory = memory_of("self");
        assert!(memory.vm_rss_kib > 0 && memory.vm_hwm_kib >= memory.vm_rss_kib);
    }
}
