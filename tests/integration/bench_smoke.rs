//! The benchmark harness at a tiny N, so it keeps working: it runs end to end (corpus, ingest,
//! floors, server restart, search mix, live federation or its absence) and writes its table.
//! No timing is asserted; only that every query answered and agreed with the in-process floor.

use std::process::Command;

#[test]
fn test_bench_harness_runs_at_tiny_n() {
    let temp = tempfile::tempdir().expect("temp dir");
    let out = temp.path().join("results.md");
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--resources", "300", "--queries", "50", "--per-document", "60"])
        .args(["--live-queries", "3", "--live-deadline-ms", "200", "--work-dir"])
        .arg(temp.path().join("work"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("bench runs");
    assert!(output.status.success(), "bench failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let report = std::fs::read_to_string(&out).expect("results written");
    for needle in [
        "### 300 resources, 50 queries",
        "The ingest, memory and restart targets are set for 1,000,000 resources",
        "Relevance (`relevance/judgments.toml`): mean NDCG@10",
        "Ingest, documents to committed and searchable",
        "Ready after restart",
        "Search c1: p50",
        "Search c16: throughput",
        "Live federation",
        "0 failed queries; 0 `totalCount`s differ",
        "| typo |",
    ] {
        assert!(report.contains(needle), "report lacks {needle:?}:\n{report}");
    }
    assert!(!temp.path().join("work/data").exists(), "the work folder is cleaned up without --keep");
}

/// `bench replicas` at a tiny N on the test PostgreSQL (a database of its own, dropped after).
#[tokio::test]
async fn test_bench_replicas_runs_at_tiny_n() {
    let Ok(server) = std::env::var("RG_TEST_POSTGRES_URL") else {
        // Says why it is skipped, or fails where PostgreSQL is required.
        let _ = crate::cluster::database().await;
        return;
    };
    let temp = tempfile::tempdir().expect("temp dir");
    let out = temp.path().join("replicas.md");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["replicas", "--resources", "300", "--lag-samples", "5", "--lag-interval-ms", "5"])
        .args(["--database-url", &server, "--work-dir"])
        .arg(temp.path().join("work"))
        .arg("--out")
        .arg(&out)
        .output()
        .await
        .expect("bench runs");
    assert!(output.status.success(), "bench replicas failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let report = std::fs::read_to_string(&out).expect("results written");
    for needle in [
        "### Replicas on one PostgreSQL: 300 resources",
        "| Ingest on PostgreSQL (resources/s) |",
        "| Fresh replica caught up from the log (s) |",
        "| Replication lag p99 (ms) |",
        "Lag: 5 one-resource ingests",
    ] {
        assert!(report.contains(needle), "report lacks {needle:?}:\n{report}");
    }
}
