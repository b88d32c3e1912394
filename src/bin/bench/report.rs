//! The results table: every figure beside its floor, the ratio, the target and whether it is
//! met, as Markdown (printed and written to a file).

use std::fmt::Write as _;
use std::time::Duration;

use super::live::LiveOutcome;
use super::measure::LatencyStats;
use super::Results;

/// Where the numbers were taken.
#[derive(Debug, Clone)]
pub struct Machine {
    pub num_cpus: usize,
    pub memory_bytes: u64,
    pub cpu_model: String,
    pub date: String,
    pub commit: String,
    /// `/proc/loadavg` when the run started: other work on the machine skews every figure.
    pub load_average: String,
}

impl Machine {
    pub fn detect() -> Self {
        let num_cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .unwrap_or(0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m))
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".to_string());
        Self {
            num_cpus,
            memory_bytes,
            cpu_model,
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit: git_commit(),
            load_average: std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        }
    }
}

fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit} (with uncommitted changes)")
            } else {
                commit
            }
        }
        None => "unknown".to_string(),
    }
}

/// Latency of one query category, over HTTP and in-process.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub label: &'static str,
    pub num_queries: usize,
    /// The category's `totalCount`s added up (how much its queries match: precision).
    pub total_hits: u64,
    pub http: LatencyStats,
    pub floor: LatencyStats,
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1048576.0)
}

fn thousands(value: f64) -> String {
    let rounded = value.round() as u64;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (position, ch) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn ratio(value: f64, floor: f64) -> String {
    if floor <= 0.0 || !value.is_finite() {
        return "–".to_string();
    }
    format!("{:.2}", value / floor)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

struct Table(String);

impl Table {
    fn new() -> Self {
        Self(
            "| Measure | Gateway | Floor | Gateway / floor | Target | Met |\n|---|---:|---:|---:|---|---|\n"
                .to_string(),
        )
    }

    fn row(&mut self, cells: [&str; 6]) {
        let _ = writeln!(self.0, "| {} |", cells.join(" | "));
    }
}

/// The corpus size the targets are set for.
const TARGET_SCALE: usize = 1_000_000;

/// Renders the whole report.
pub fn markdown(results: &Results) -> String {
    let machine = &results.machine;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} resources, {} queries\n",
        thousands(results.ingest.num_resources as f64),
        results.num_queries
    );
    let _ = writeln!(
        out,
        "Machine: `nproc` = {}, {:.1} GiB memory, {}; load average {} at the start. Date: {}. Commit: {}.\n",
        machine.num_cpus,
        machine.memory_bytes as f64 / 1073741824.0,
        machine.cpu_model,
        machine.load_average,
        machine.date,
        machine.commit
    );
    let _ = writeln!(
        out,
        "Corpus: {} resources from 20 publishers (skewed 1/rank) in {} documents (Resource Search JSON and LRMI \
         JSON-LD, {} resources each at most), {}, generated in {:.1} s (seed {}). Ingest: {} documents at a time.\n",
        thousands(results.args_resources as f64),
        results.corpus_documents,
        thousands(results.per_document as f64),
        mib(results.corpus_bytes),
        results.generate_seconds,
        results.seed,
        results.ingest_concurrency
    );
    if results.args_resources < TARGET_SCALE {
        let _ = writeln!(
            out,
            "The ingest, memory and restart targets are set for {} resources; at this size their Met column is for \
             reference. The search latency targets are those of this size (c1 p50 ≤ 1 ms).\n",
            thousands(TARGET_SCALE as f64)
        );
    }

    let mut table = Table::new();
    let ingest = &results.ingest;
    let floor = &results.floor_ingest;
    let ingest_rate = ingest.num_resources as f64 / ingest.seconds.max(1e-9);
    let floor_rate = floor.num_resources as f64 / floor.seconds.max(1e-9);
    let rate_ok = ingest_rate >= 20_000.0 && ingest_rate >= 0.6 * floor_rate;
    table.row([
        "Ingest, documents to committed and searchable (resources/s)",
        &format!("{} ({:.1} s, {:.1} CPU s)", thousands(ingest_rate), ingest.seconds, ingest.cpu_seconds),
        &format!("{} ({:.1} s, {:.1} CPU s)", thousands(floor_rate), floor.seconds, floor.cpu_seconds),
        &ratio(ingest_rate, floor_rate),
        "≥ 20,000/s and ≥ 0.60 of floor",
        met(rate_ok),
    ]);
    let peak = ingest.memory.vm_hwm_kib * 1024;
    table.row([
        "Ingest peak RSS (VmHWM of the ingesting process)",
        &mib(peak),
        &mib(floor.memory.vm_hwm_kib * 1024),
        &ratio(peak as f64, (floor.memory.vm_hwm_kib * 1024) as f64),
        "≤ 1.5 GiB",
        met(peak <= 1536 * 1048576),
    ]);
    table.row([
        "Index size on disk",
        &mib(ingest.index_bytes),
        &mib(floor.index_bytes),
        &ratio(ingest.index_bytes as f64, floor.index_bytes as f64),
        "–",
        "–",
    ]);
    table.row(["Data folder (index, archived catalogs, registry)", &mib(ingest.data_bytes), "–", "–", "–", "–"]);
    table.row([
        "Merges after the last commit (closing the writer; not part of either rate)",
        &format!("{:.1} s", ingest.close_seconds),
        &format!("{:.1} s", floor.close_seconds),
        // The floor's single commit leaves nothing (or next to nothing) to merge.
        &if floor.close_seconds >= 0.05 { ratio(ingest.close_seconds, floor.close_seconds) } else { "–".to_string() },
        "–",
        "–",
    ]);
    table.row([
        "Ready after restart (process start to `/readyz` 200)",
        &format!("{:.2} s", results.ready.as_secs_f64()),
        "–",
        "–",
        "≤ 2 s",
        met(results.ready <= Duration::from_secs(2)),
    ]);
    let serving = &results.serving_memory;
    table.row([
        "Serving RSS after the search runs (heap + mapped index)",
        &format!(
            "{} ({} heap, {} index pages)",
            mib(serving.vm_rss_kib * 1024),
            mib(serving.rss_anon_kib * 1024),
            mib(serving.rss_file_kib * 1024)
        ),
        "–",
        "–",
        "≤ 500 MiB",
        met(serving.vm_rss_kib * 1024 <= 500 * 1048576),
    ]);
    for (concurrency, http, floor) in &results.search {
        let c = concurrency;
        let throughput_target = if *c == 16 { "≥ 0.50 of floor" } else { "–" };
        let throughput_met = if *c == 16 { met(http.throughput() >= 0.5 * floor.throughput()) } else { "–" };
        table.row([
            &format!("Search c{c}: throughput (queries/s)"),
            &thousands(http.throughput()),
            &thousands(floor.throughput()),
            &ratio(http.throughput(), floor.throughput()),
            throughput_target,
            throughput_met,
        ]);
        // Latency targets hold at concurrency 1 only: p50 ≤ 1 ms at 100k; p50 ≤ 3 ms and p99 ≤
        // 15 ms at 1M (issue 14).
        let (p50_limit, p99_limit) =
            if results.args_resources >= TARGET_SCALE { (Some(3), Some(15)) } else { (Some(1), None) };
        let limit = |ms: Option<u64>| ms.filter(|_| *c == 1).map(Duration::from_millis);
        for (name, value, floor_value, target) in [
            ("p50", http.p50, floor.p50, limit(p50_limit)),
            ("p99", http.p99, floor.p99, limit(p99_limit)),
            ("max", http.max, floor.max, None),
        ] {
            let target_text = target.map(|t| format!("≤ {} ms", t.as_millis())).unwrap_or_else(|| "–".to_string());
            table.row([
                &format!("Search c{c}: {name}"),
                &ms(value),
                &ms(floor_value),
                &ratio(value.as_secs_f64(), floor_value.as_secs_f64()),
                &target_text,
                target.map_or("–", |t| met(value <= t)),
            ]);
        }
    }
    match &results.picker {
        Ok(outcome) => {
            let limit = Duration::from_millis(50);
            table.row([
                &format!(
                    "Picker HTML, server time (`Server-Timing`) of {} pages one at a time: p50 / p99 / max (round trip p50 {})",
                    outcome.all.server.num_requests,
                    ms(outcome.all.round_trip.p50)
                ),
                &format!("{} / {} / {}", ms(outcome.all.server.p50), ms(outcome.all.server.p99), ms(outcome.all.server.max)),
                "–",
                "–",
                "p99 ≤ 50 ms",
                met(outcome.all.server.p99 <= limit),
            ]);
        }
        Err(reason) => table.row(["Picker HTML", &format!("not measured: {reason}"), "–", "–", "p99 ≤ 50 ms", "–"]),
    }
    if let Ok(outcome) = &results.picker {
        let cold: Vec<String> = outcome.cold_first_screens.iter().map(|d| ms(*d)).collect();
        let worst = outcome.cold_first_screens.iter().max().copied().unwrap_or_default();
        table.row([
            "Picker first screen, first request after the restart (from a course / without one; nothing remembered yet)",
            &cold.join(" / "),
            "–",
            "–",
            "≤ 50 ms",
            met(worst <= Duration::from_millis(50)),
        ]);
    }
    match &results.live {
        LiveOutcome::NotAvailable(reason) => {
            table.row(["Live federation", "not measured (not available in this build)", "–", "–", "–", "–"]);
            let _ = reason;
        }
        LiveOutcome::Measured { deadline, fan_out, num_timeouts, num_unavailable, cached, cached_took_ms_max } => {
            let limit = *deadline + Duration::from_millis(20);
            table.row([
                &format!(
                    "Live federation, 5 publishers (1 dead), deadline {} ms: p50 / p99 of {} distinct queries \
                     (the dead one: {} TIMEOUT, waited for; {} UNAVAILABLE, not waited for)",
                    deadline.as_millis(),
                    fan_out.num_requests,
                    num_timeouts,
                    num_unavailable
                ),
                &format!("{} / {}", ms(fan_out.p50), ms(fan_out.p99)),
                "–",
                "–",
                &format!("p99 ≤ {} ms", limit.as_millis()),
                met(fan_out.p99 <= limit),
            ]);
            let server_time = cached_took_ms_max.map(|t| format!(", server `tookMs` ≤ {t}")).unwrap_or_default();
            table.row([
                "Live federation, cached repeat: p50 round trip",
                &format!("{}{server_time}", ms(cached.p50)),
                "–",
                "–",
                "≤ 1 ms server time",
                match cached_took_ms_max {
                    Some(t) => met(*t <= 1),
                    None => "–",
                },
            ]);
        }
    }
    out.push_str(&table.0);
    let _ = writeln!(
        out,
        "\nCorrectness: {} failed queries; {} `totalCount`s differ from the in-process floor; {} of {} queries match nothing.\n",
        results.num_errors, results.num_count_mismatches, results.num_zero_hit_queries, results.num_queries
    );
    if let LiveOutcome::NotAvailable(reason) = &results.live {
        let _ = writeln!(out, "Live federation: not measured (not available in this build): {reason}.\n");
    }
    out.push_str(&super::relevance::markdown(&results.relevance, results.ingest.num_resources));
    out.push('\n');
    if let Ok(outcome) = &results.picker {
        out.push_str("Picker pages by kind (server time from `Server-Timing`; round trip over loopback):\n\n");
        out.push_str("| Page | Pages | Server p50 | Server p99 | Server max | Round trip p50 |\n|---|---:|---:|---:|---:|---:|\n");
        for row in &outcome.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.label,
                row.server.num_requests,
                ms(row.server.p50),
                ms(row.server.p99),
                ms(row.server.max),
                ms(row.round_trip.p50)
            );
        }
        out.push('\n');
    }
    if !results.categories.is_empty() {
        out.push_str("Per query category at concurrency 1 (HTTP / in-process floor):\n\n");
        out.push_str(
            "| Category | Queries | Hits (sum of totalCount) | HTTP p50 | HTTP p99 | Floor p50 | Floor p99 |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for row in &results.categories {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.label,
                row.num_queries,
                thousands(row.total_hits as f64),
                ms(row.http.p50),
                ms(row.http.p99),
                ms(row.floor.p50),
                ms(row.floor.p99)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_thousands_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
    }
}
