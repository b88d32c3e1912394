//! Several gateway processes on one PostgreSQL behind a round-robin load balancer: the shape a
//! district runs. The replicas are the real binary (`serve`), each with its own data folder; the
//! database is the one `RG_TEST_POSTGRES_URL` names (a fresh database per test), which `.ci/run`
//! starts. Without it these tests say so and pass, unless `RG_TEST_REQUIRE_POSTGRES=1`.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;
use sqlx::Connection;
use tokio::io::AsyncBufReadExt;

use crate::common::ADMIN_TOKEN;

pub const SECRET_KEY: &str = "replica-test-secret-key-0123456789abcdef";

/// A fresh database on the test PostgreSQL, or `None` (with a notice) when there is none.
pub async fn database() -> Option<String> {
    let Ok(admin_url) = std::env::var("RG_TEST_POSTGRES_URL") else {
        if std::env::var("RG_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("RG_TEST_REQUIRE_POSTGRES=1 but RG_TEST_POSTGRES_URL is not set");
        }
        eprintln!(
            "skipped: set RG_TEST_POSTGRES_URL (e.g. `.ci/postgres.sh start /tmp/pg 55432`) to run the replica tests"
        );
        return None;
    };
    let name = format!("rg_it_{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create a test database");
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}

/// A PostgreSQL cluster of the test's own, which it may stop and start again (the shared one
/// serves every other test). Started with `.ci/postgres.sh`, like the shared one; only where
/// that one is (`RG_TEST_POSTGRES_URL` says the server binaries are installed).
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    port: u16,
}

const POSTGRES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postgres.sh");

impl OwnPostgres {
    pub async fn start() -> Option<Self> {
        database().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        #[cfg(unix)]
        {
            // As root the cluster runs as `postgres`, which must reach the folder inside.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Self { dir, port };
        cluster.run("start");
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (`pg_ctl stop -m fast`: every connection is cut, as in a restart).
    pub fn stop(&self) {
        self.run("stop");
    }

    /// Starts it again on the same data and port.
    pub fn start_again(&self) {
        self.run("start");
    }

    fn run(&self, action: &str) {
        let cluster = self.dir.path().join("pg");
        let mut command = std::process::Command::new(POSTGRES_SCRIPT);
        command.arg(action).arg(&cluster);
        if action == "start" {
            command.arg(self.port.to_string());
        }
        let output = command.output().expect("run .ci/postgres.sh");
        assert!(output.status.success(), "postgres.sh {action}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `resource-gateway serve` process.
pub struct Replica {
    pub addr: SocketAddr,
    child: tokio::process::Child,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Replica {
    /// Starts a replica on `database`, handing out `public_url`, with `extra` settings.
    pub async fn start(database: &str, public_url: &str, extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replica = Self::start_on(&dir.path().join("data"), Some(database), public_url, extra).await;
        replica._dir = Some(dir);
        replica
    }

    /// Starts the binary on `data_dir`, which outlives it (a restart after a kill reuses it);
    /// without `database` its registry is the data folder's own SQLite, as for a newcomer.
    pub async fn start_on(
        data_dir: &std::path::Path,
        database: Option<&str>,
        public_url: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_resource-gateway"));
        command
            .arg("serve")
            .env("GATEWAY_LISTEN", "127.0.0.1:0")
            .env("GATEWAY_DATA_DIR", data_dir)
            .env("GATEWAY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("GATEWAY_PUBLIC_URL", public_url)
            .env("GATEWAY_ALLOW_NETWORKS", "127.0.0.1/32")
            .env("GATEWAY_LOG_JSON", "true")
            .env("RUST_LOG", "info,tantivy=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(database) = database {
            command.env("GATEWAY_DATABASE_URL", database).env("GATEWAY_SECRET_KEY", SECRET_KEY);
        }
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the gateway binary");
        let stderr = child.stderr.take().expect("stderr piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        let kept = logs.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            let mut address_tx = Some(address_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    if let Some(address) = event["fields"]["address"].as_str() {
                        if let (Some(tx), Ok(addr)) = (address_tx.take(), address.parse::<SocketAddr>()) {
                            let _ = tx.send(addr);
                        }
                    }
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(120), address_rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let _ = child.start_kill();
                panic!("the replica did not start: {}", logs.lock().unwrap().join("\n"));
            }
        };
        let replica = Self { addr, child, logs, _dir: None };
        replica.wait_ready().await;
        replica
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Waits until `/readyz` answers 200 (the replica caught up with the catalog log).
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..1200 {
            if let Ok(response) = client.get(self.url("/readyz")).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the replica did not become ready: {}", self.logs());
    }

    /// Ends the process at once (SIGKILL): no shutdown code runs, as in a crash.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

/// A round-robin HTTP load balancer on 127.0.0.1: every request goes to the next backend, with
/// no stickiness, so consecutive steps of one flow land on different replicas.
pub struct Balancer {
    pub addr: SocketAddr,
    state: Arc<BalancerState>,
}

struct BalancerState {
    backends: Mutex<Vec<SocketAddr>>,
    next: AtomicUsize,
    client: reqwest::Client,
    /// (path, backend) of every request forwarded.
    routed: Mutex<Vec<(String, SocketAddr)>>,
}

impl Balancer {
    pub async fn start() -> Self {
        let state = Arc::new(BalancerState {
            backends: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            routed: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new().fallback(forward).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind balancer");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_backends(&self, backends: &[SocketAddr]) {
        *self.state.backends.lock().unwrap() = backends.to_vec();
    }

    /// The backends that answered requests to `path`, in order.
    pub fn routed(&self, path: &str) -> Vec<SocketAddr> {
        self.state.routed.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, b)| *b).collect()
    }
}

async fn forward(State(state): State<Arc<BalancerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let backend = {
        let backends = state.backends.lock().unwrap();
        if backends.is_empty() {
            return Response::builder().status(503).body(Body::from("no backend")).unwrap();
        }
        backends[state.next.fetch_add(1, Ordering::SeqCst) % backends.len()]
    };
    state.routed.lock().unwrap().push((parts.uri.path().to_string(), backend));
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let target = format!("http://{backend}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut outgoing = state.client.request(parts.method, target).body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name != axum::http::header::TRANSFER_ENCODING && name != axum::http::header::CONTENT_LENGTH {
                    response = response.header(name, value);
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            response.body(Body::from(bytes)).unwrap()
        }
        Err(err) => Response::builder().status(502).body(Body::from(err.to_string())).unwrap(),
    }
}
