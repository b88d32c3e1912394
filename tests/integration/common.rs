//! A gateway started in-process on 127.0.0.1:0 with its own data folder, and helpers to talk
//! to it over real HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use resource_gateway::Config;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Where the shared fixtures live (beside the repository).
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures").join(relative)
}

pub fn fixture_bytes(relative: &str) -> Vec<u8> {
    std::fs::read(fixture(relative)).unwrap_or_else(|err| panic!("fixture {relative}: {err}"))
}

/// This repository's own fixtures (`tests/fixtures/`).
pub fn own_fixture_bytes(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("fixture {}: {err}", path.display()))
}

pub fn fixture_text(relative: &str) -> String {
    String::from_utf8(fixture_bytes(relative)).expect("fixture is UTF-8")
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The configuration it started with (a restart keeps it).
    config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub client: reqwest::Client,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A gateway with the bundled samples loaded.
    pub async fn with_samples() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A gateway with an empty data folder.
    pub async fn empty() -> Self {
        Self::start_with(|config| config.load_samples = false).await
    }

    /// An empty gateway whose outbound requests may reach publishers started by the test on
    /// 127.0.0.1 (only that address: other private ranges stay refused).
    pub async fn federated(live_deadline_ms: u64) -> Self {
        Self::start_with(|config| {
            config.load_samples = false;
            config.allow_networks = vec!["127.0.0.1/32".parse().expect("network")];
            config.live_deadline = std::time::Duration::from_millis(live_deadline_ms);
        })
        .await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut config = Config::with_data_dir(temp.path().join("data"));
        config.admin_token = Some(ADMIN_TOKEN.to_string());
        adjust(&mut config);
        let mut server = Self::start_in(config).await;
        server._temp = Some(temp);
        server
    }

    async fn start_in(config: Config) -> Self {
        let data_dir = config.data_dir.clone();
        let kept = config.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            resource_gateway::serve(config, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        let server = Self {
            addr,
            data_dir,
            config: kept,
            shutdown: Some(tx),
            task: Some(task),
            client: reqwest::Client::new(),
            _temp: None,
        };
        server.wait_ready().await;
        server
    }

    /// A gateway this test did not start (another process, or a load balancer in front of
    /// several): the same helpers drive it over HTTP.
    pub async fn remote(addr: SocketAddr) -> Self {
        let server = Self {
            addr,
            data_dir: PathBuf::new(),
            config: Config::with_data_dir(PathBuf::new()),
            shutdown: None,
            task: None,
            client: reqwest::Client::new(),
            _temp: None,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..600 {
            if let Ok(response) = self.client.get(self.url("/readyz")).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("server did not become ready");
    }

    /// Stops the server and starts a new one on the same data folder.
    pub async fn restart(mut self) -> Self {
        let temp = self._temp.take();
        self.stop().await;
        let mut config = self.config.clone();
        config.admin_token = Some(ADMIN_TOKEN.to_string());
        config.load_samples = false;
        let mut server = Self::start_in(config).await;
        server._temp = temp;
        server
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a GraphQL request and answers the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request =
            self.client.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("graphql request");
        response.json().await.expect("graphql answers JSON")
    }

    /// Like [`Self::graphql`] but fails the test on any error; answers `data`.
    pub async fn graphql_ok(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let response = self.graphql(query, variables, token).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// Registers a publisher as admin and answers its key.
    pub async fn register_publisher(&self, id: &str, name: &str) -> String {
        let data = self
            .graphql_ok(
                "mutation($input: RegisterPublisherInput!) { registerPublisher(input: $input) { apiKey publisher { id } } }",
                json!({ "input": { "name": name, "id": id } }),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(data["registerPublisher"]["publisher"]["id"], id);
        data["registerPublisher"]["apiKey"].as_str().expect("key").to_string()
    }

    /// Ingests a text document through GraphQL and answers the report.
    pub async fn ingest(&self, key: &str, format: &str, document: &str, extra: Value) -> Value {
        let mut variables = json!({ "format": format, "document": document });
        if let (Some(target), Some(extra)) = (variables.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        let data = self
            .graphql_ok(
                "mutation($format: CatalogFormat!, $document: String!, $publisher: ID, $source: String, $mode: IngestMode) {
                   ingestCatalog(format: $format, document: $document, publisher: $publisher, source: $source, mode: $mode) {
                     status sourceId added updated removed rejected diagnostics { item severity message }
                   }
                 }",
                variables,
                Some(key),
            )
            .await;
        data["ingestCatalog"].clone()
    }

    /// Uploads a raw document to `POST /publishers/{id}/catalog`; answers status and JSON.
    pub async fn upload(&self, token: Option<&str>, publisher: &str, query: &str, body: Vec<u8>) -> (u16, Value) {
        let mut request = self.client.post(self.url(&format!("/publishers/{publisher}/catalog?{query}"))).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("upload");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Runs `search` with the given arguments and answers `data.search`.
    pub async fn search(&self, arguments: Value) -> Value {
        let data = self
            .graphql_ok(
                "query($query: String, $filter: ResourceFilter, $sort: SearchSort = RELEVANCE, $first: Int = 20, $after: String) {
                   search(query: $query, filter: $filter, sort: $sort, first: $first, after: $after) {
                     totalCount
                     pageInfo { hasNextPage hasPreviousPage endCursor }
                     edges { cursor score highlights { field snippet }
                             node { id title kind url gradeMin gradeMax languages subjects license free
                                    publisher { id name } alignments { code guid } } }
                     facets { publisher { value label count } subject { value count } resourceType { value count }
                              language { value label count } license { value label count } kind { value count }
                              gradeLevel { value label count } }
                   }
                 }",
                arguments,
                None,
            )
            .await;
        data["search"].clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The ids of a search answer's edges.
pub fn edge_ids(search: &Value) -> Vec<String> {
    search["edges"]
        .as_array()
        .map(|edges| edges.iter().filter_map(|e| e["node"]["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// A facet's counts as (value, count) pairs.
pub fn facet(search: &Value, name: &str) -> Vec<(String, i64)> {
    search["facets"][name]
        .as_array()
        .map(|values| {
            values
                .iter()
                .map(|v| (v["value"].as_str().unwrap_or_default().to_string(), v["count"].as_i64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Zips a fixture folder the way an LMS exports a cartridge (`imsmanifest.xml` at the root).
pub fn zip_fixture_folder(relative: &str) -> Vec<u8> {
    zip_folder(&fixture(relative))
}

/// Zips a folder of this repository's own fixtures.
pub fn zip_own_fixture_folder(relative: &str) -> Vec<u8> {
    zip_folder(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative))
}

fn zip_folder(root: &Path) -> Vec<u8> {
    use std::io::Write;
    let root = root.to_path_buf();
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixture folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = path.strip_prefix(&root).expect("inside").to_string_lossy().replace('\\', "/");
                writer.start_file(name, options).expect("zip entry");
                writer.write_all(&std::fs::read(&path).expect("fixture file")).expect("zip write");
            }
        }
        writer.finish().expect("zip finish");
    }
    buffer.into_inner()
}
