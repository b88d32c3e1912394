//! Publisher federation over real HTTP: the tests start publishers on 127.0.0.1 (axum) and a
//! gateway allowed to reach exactly that address, then check what a publisher or a teacher
//! sees: harvest runs, counts, removals, statuses, the live deadline, cache hits.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::common::{fixture_text, TestServer, ADMIN_TOKEN};

const ADD_SOURCE: &str = "mutation($input: CatalogSourceInput!) {
  addCatalogSource(input: $input) { id url format refreshSeconds live authentication nextRunAt }
}";

const HARVEST_NOW: &str = "mutation($id: ID!) {
  harvestNow(sourceId: $id) {
    id sourceId status trigger added updated removed rejected httpStatus requests durationMs
    startedAt finishedAt diagnostics { item severity message }
  }
}";

const SOURCES: &str = "query($id: ID!) {
  publisher(id: $id) {
    sources {
      id url format refreshSeconds live authentication nextRunAt createdAt
      lastRun { id status added updated removed httpStatus finishedAt }
      runs(first: 20) { id status }
    }
  }
}";

const LIVE_SEARCH: &str = "query($query: String) {
  search(query: $query, live: true, first: 50) {
    totalCount
    edges { node { id title sourceId } }
    sources { publisher { id } status tookMs message sourceId resultCount }
  }
}";

const SOURCE_RUNS: &str = "query($id: ID!) {
  publisher(id: $id) {
    sources {
      id
      lastRun {
        id sourceId status trigger added updated removed rejected httpStatus requests durationMs
        startedAt finishedAt diagnostics { item severity message }
      }
    }
  }
}";

const OAUTH_SECRET: &str = "client-secret-never-shown-7f3a";
const BEARER_SECRET: &str = "bearer-token-never-shown-91c2";
const ISSUED_TOKEN: &str = "issued-access-token-5d1e";

/// One request a publisher saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
}

/// What the publishers serve and how they behave right now.
struct Shared {
    seen: Mutex<Vec<Seen>>,
    /// 1: the 50-resource JSON-LD graph, 2: the 5-resource array.
    static_version: AtomicUsize,
    oai_expire_once: AtomicBool,
    oai_always_expire: AtomicBool,
    /// The repository answers the full list even when asked `from` (harvests then page).
    oai_ignore_from: AtomicBool,
    flaky_calls: AtomicUsize,
    garbage: AtomicBool,
    /// The slow endpoint answers at once from now on.
    slow_recovered: AtomicBool,
    /// The live publisher has published a resource the gateway has not harvested yet.
    live_published: AtomicBool,
    token_calls: AtomicUsize,
    rs_all: Vec<Value>,
    rs_page1: Vec<Value>,
    rs_page2: Vec<Value>,
    rs_newest: Value,
    oai_head: String,
    oai_full: Vec<String>,
    oai_changes: Vec<String>,
}

#[derive(Clone)]
struct Publishers {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Publishers {
    async fn start() -> Self {
        let shared = Arc::new(load_shared());
        let app = Router::new()
            .route("/static/catalog", get(static_catalog))
            .route("/oai", get(oai))
            .route("/rs/{name}/resources", get(resources))
            .route("/oauth/token", post(token))
            .route("/redirect", get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data") }))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("publishers") });
        Self { addr, shared }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().iter().filter(|s| s.path == path).cloned().collect()
    }
}

fn record(shared: &Shared, uri: &Uri, query: &HashMap<String, String>, headers: &HeaderMap) {
    shared.seen.lock().unwrap().push(Seen {
        path: uri.path().to_string(),
        query: query.clone(),
        headers: headers.clone(),
    });
}

fn resources_of(file: &str) -> Vec<Value> {
    let document: Value = serde_json::from_str(&fixture_text(file)).unwrap();
    document["resources"].as_array().unwrap().clone()
}

/// The `<record>` elements of an OAI-PMH page, as text.
fn oai_records(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<record>") {
        let end = rest[start..].find("</record>").unwrap() + start + "</record>".len();
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    out
}

fn load_shared() -> Shared {
    let rs_page1 = resources_of("catalogs/sciencelab-resource-search.json");
    let rs_page2 = resources_of("catalogs/sciencelab-resource-search-page2.json");
    let mut rs_newest = rs_page1[0].clone();
    rs_newest["id"] = json!("SL-9999");
    rs_newest["name"] = json!("Photosynthesis Field Lab: Newest Edition");
    let page1 = fixture_text("catalogs/histarchive-oai-lom-page1.xml");
    let page2 = fixture_text("catalogs/histarchive-oai-lom-page2.xml");
    let head_end = page1.find("<ListRecords>").unwrap() + "<ListRecords>".len();
    let oai_head = page1[..head_end].to_string();
    let mut oai_full = oai_records(&page1);
    let mut deleted = None;
    for chunk in oai_records(&page2) {
        if chunk.contains("status=\"deleted\"") {
            deleted = Some(chunk);
            continue;
        }
        oai_full.push(chunk);
    }
    let deleted = deleted.expect("page 2 has a deleted record");
    assert!(deleted.contains("ha-1017"));
    // Before its deletion, ha-1017 was a live record (modelled on ha-1016).
    let alive = oai_full.iter().find(|r| r.contains("ha-1016</identifier>")).unwrap().replace("ha-1016", "ha-1017");
    oai_full.push(alive);
    assert_eq!(oai_full.len(), 30);
    let revised = oai_full[0].replacen("Letters from the Dust Bowl", "Letters from the Dust Bowl (revised edition)", 1);
    assert!(revised.contains("ha-1001") && revised.contains("revised edition"));
    Shared {
        seen: Mutex::new(Vec::new()),
        static_version: AtomicUsize::new(1),
        oai_expire_once: AtomicBool::new(false),
        oai_always_expire: AtomicBool::new(false),
        oai_ignore_from: AtomicBool::new(false),
        flaky_calls: AtomicUsize::new(0),
        garbage: AtomicBool::new(false),
        slow_recovered: AtomicBool::new(false),
        live_published: AtomicBool::new(false),
        token_calls: AtomicUsize::new(0),
        rs_all: rs_page1.iter().chain(rs_page2.iter()).cloned().collect(),
        rs_page1,
        rs_page2,
        rs_newest,
        oai_head,
        oai_full,
        oai_changes: vec![deleted, revised],
    }
}

/// A static LRMI catalog with an ETag, gzip-compressed when the client accepts it.
async fn static_catalog(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&shared, &uri, &query, &headers);
    let version = shared.static_version.load(Ordering::SeqCst);
    let etag = format!("\"catalog-v{version}\"");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let body = match version {
        1 => fixture_text("catalogs/openreaders-lrmi.jsonld"),
        _ => fixture_text("catalogs/openreaders-lrmi-array.json"),
    };
    let gzip = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("gzip"));
    if !gzip {
        return ([(header::ETAG, etag)], body).into_response();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body.as_bytes()).unwrap();
    let compressed = encoder.finish().unwrap();
    (
        [
            (header::ETAG, etag),
            (header::CONTENT_ENCODING, "gzip".to_string()),
            (header::CONTENT_TYPE, "application/ld+json".to_string()),
        ],
        compressed,
    )
        .into_response()
}

/// An OAI-PMH repository: 30 records in three pages, then changes (a deletion and a revised
/// record) for incremental harvests; tokens can be made to expire.
async fn oai(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&shared, &uri, &query, &headers);
    let xml = |records: &[String], token: Option<&str>| {
        let mut body = shared.oai_head.clone();
        for record in records {
            body.push_str("\n    ");
            body.push_str(record);
        }
        match token {
            Some(token) => {
                body.push_str(&format!("\n    <resumptionToken completeListSize=\"30\">{token}</resumptionToken>"))
            }
            None => body.push_str("\n    <resumptionToken completeListSize=\"30\"/>"),
        }
        body.push_str("\n  </ListRecords>\n</OAI-PMH>\n");
        ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
    };
    if let Some(token) = query.get("resumptionToken") {
        if shared.oai_always_expire.load(Ordering::SeqCst) || shared.oai_expire_once.swap(false, Ordering::SeqCst) {
            return ([(header::CONTENT_TYPE, "text/xml")], fixture_text("bad/oai-error-badResumptionToken.xml"))
                .into_response();
        }
        return match token.as_str() {
            "page-2" => xml(&shared.oai_full[10..20], Some("page-3")),
            "page-3" => xml(&shared.oai_full[20..30], None),
            _ => ([(header::CONTENT_TYPE, "text/xml")], fixture_text("bad/oai-error-badResumptionToken.xml"))
                .into_response(),
        };
    }
    if query.contains_key("from") && !shared.oai_ignore_from.load(Ordering::SeqCst) {
        return xml(&shared.oai_changes, None);
    }
    xml(&shared.oai_full[0..10], Some("page-2"))
}

/// A slice of `items` as `offset`/`limit` ask (at most `max`), as an RS body.
fn rs_slice(items: &[Value], query: &HashMap<String, String>, max: usize) -> (usize, Value) {
    let offset: usize = query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100).min(max);
    let page: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    (offset + page.len(), json!({ "resources": page }))
}

/// What `filter=search~'…'` selects: name or description containing the words.
fn rs_search(items: &[Value], query: &HashMap<String, String>) -> Vec<Value> {
    let Some(filter) = query.get("filter") else {
        return items.to_vec();
    };
    let Some(start) = filter.find("search~'") else {
        return items.to_vec();
    };
    let rest = &filter[start + "search~'".len()..];
    let words = rest[..rest.find('\'').unwrap_or(rest.len())].to_lowercase();
    items
        .iter()
        .filter(|item| {
            let text = format!(
                "{} {}",
                item["name"].as_str().unwrap_or_default(),
                item["description"].as_str().unwrap_or_default()
            )
            .to_lowercase();
            text.contains(&words)
        })
        .cloned()
        .collect()
}

/// Resource Search endpoints, one per behaviour.
async fn resources(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&shared, &uri, &query, &headers);
    match name.as_str() {
        // Pages of at most 25 whatever the client asks, with X-Total-Count and Link.
        "paged" => {
            let (next, body) = rs_slice(&shared.rs_all, &query, 25);
            let total = shared.rs_all.len();
            let mut response = axum::Json(body).into_response();
            let headers = response.headers_mut();
            headers.insert("x-total-count", total.to_string().parse().unwrap());
            if next < total {
                let link = format!("</rs/paged/resources?limit=25&offset={next}>; rel=\"next\"");
                headers.insert(header::LINK, link.parse().unwrap());
            }
            response
        }
        // 503 with Retry-After, then 500, then fine (no paging headers: ends on an empty page).
        "flaky" => match shared.flaky_calls.fetch_add(1, Ordering::SeqCst) {
            0 => (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], "busy").into_response(),
            1 => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
            _ => axum::Json(rs_slice(&shared.rs_page1, &query, 100).1).into_response(),
        },
        "garbage" => {
            if shared.garbage.load(Ordering::SeqCst) {
                ([(header::CONTENT_TYPE, "application/json")], "<html>maintenance").into_response()
            } else {
                axum::Json(rs_slice(&shared.rs_page1, &query, 100).1).into_response()
            }
        }
        "slow" => {
            if !shared.slow_recovered.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            axum::Json(rs_slice(&rs_search(&shared.rs_page2, &query), &query, 100).1).into_response()
        }
        "oauth" => {
            let expected = format!("Bearer {ISSUED_TOKEN}");
            if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                return (StatusCode::UNAUTHORIZED, "token required").into_response();
            }
            axum::Json(rs_slice(&shared.rs_page2, &query, 100).1).into_response()
        }
        "bearer" => {
            let expected = format!("Bearer {BEARER_SECRET}");
            if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                return (StatusCode::UNAUTHORIZED, "token required").into_response();
            }
            axum::Json(rs_slice(&shared.rs_page2, &query, 100).1).into_response()
        }
        "live" => {
            let mut items = Vec::new();
            if shared.live_published.load(Ordering::SeqCst) {
                items.push(shared.rs_newest.clone());
            }
            items.extend(shared.rs_page1.iter().cloned());
            let found = rs_search(&items, &query);
            axum::Json(rs_slice(&found, &query, 100).1).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// OAuth 2 token endpoint: client credentials with HTTP Basic `gateway-client:<secret>`.
async fn token(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: String) -> Response {
    record(&shared, &uri, &HashMap::new(), &headers);
    shared.token_calls.fetch_add(1, Ordering::SeqCst);
    use base64::Engine;
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("gateway-client:{OAUTH_SECRET}")));
    let authorized = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    if !authorized || !body.contains("grant_type=client_credentials") || !body.contains("scope=rs.read") {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "invalid_client" }))).into_response();
    }
    axum::Json(json!({ "access_token": ISSUED_TOKEN, "token_type": "Bearer", "expires_in": 3600 })).into_response()
}

/// Adds a source with the given key and answers its id.
async fn add_source(server: &TestServer, key: &str, input: Value) -> String {
    let data = server.graphql_ok(ADD_SOURCE, json!({ "input": input }), Some(key)).await;
    data["addCatalogSource"]["id"].as_str().expect("source id").to_string()
}

async fn harvest_now(server: &TestServer, key: &str, id: &str) -> Value {
    let data = server.graphql_ok(HARVEST_NOW, json!({ "id": id }), Some(key)).await;
    data["harvestNow"].clone()
}

/// Waits for the first run of a new source (the scheduler starts it at once) to end.
async fn first_run(server: &TestServer, key: &str, publisher: &str, source_id: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let data = server.graphql_ok(SOURCE_RUNS, json!({ "id": publisher }), Some(key)).await;
        let source = data["publisher"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == source_id)
            .cloned()
            .expect("the source is listed");
        last = source["lastRun"].clone();
        if matches!(last["status"].as_str(), Some("SUCCEEDED" | "UNCHANGED" | "PARTIAL" | "FAILED")) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the first run did not finish: {last:#}");
}

async fn publisher_total(server: &TestServer, publisher: &str) -> i64 {
    let found = server.search(json!({ "filter": { "publishers": [publisher] }, "first": 1 })).await;
    found["totalCount"].as_i64().unwrap()
}

fn error_code(response: &Value) -> String {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_string()
}

fn messages(run: &Value) -> String {
    run["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{} {}", d["severity"].as_str().unwrap(), d["message"].as_str().unwrap()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn test_static_catalog_with_etag_costs_one_request_when_unchanged() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("openreaders", "OpenReaders").await;
    let id = add_source(
        &server,
        &key,
        json!({ "url": publishers.url("/static/catalog"), "format": "LRMI", "refreshSeconds": 3600 }),
    )
    .await;

    let first = first_run(&server, &key, "openreaders", &id).await;
    assert_eq!(first["status"], "SUCCEEDED", "{first:#}");
    assert_eq!(first["trigger"], "SCHEDULE");
    assert_eq!(first["added"], 50);
    assert_eq!(first["httpStatus"], 200);
    assert_eq!(first["requests"], 1);
    assert!(first["durationMs"].as_i64().is_some());
    assert_eq!(publisher_total(&server, "openreaders").await, 50);
    let asked = publishers.seen("/static/catalog");
    let encodings = asked[0].headers[header::ACCEPT_ENCODING].to_str().unwrap();
    assert!(encodings.contains("gzip") && encodings.contains("br"), "{encodings}");

    let again = harvest_now(&server, &key, &id).await;
    assert_eq!(again["status"], "UNCHANGED", "{again:#}");
    assert_eq!(again["httpStatus"], 304);
    assert_eq!(again["requests"], 1);
    assert_eq!(again["added"], 0);
    let asked = publishers.seen("/static/catalog");
    assert_eq!(asked.len(), 2, "an unchanged catalog costs one request");
    assert_eq!(asked[1].headers[header::IF_NONE_MATCH].to_str().unwrap(), "\"catalog-v1\"");
    assert_eq!(publisher_total(&server, "openreaders").await, 50);

    // The publisher replaces its catalog: the new set in, the old one out, in one commit.
    publishers.shared.static_version.store(2, Ordering::SeqCst);
    let replaced = harvest_now(&server, &key, &id).await;
    assert_eq!(replaced["status"], "SUCCEEDED", "{replaced:#}");
    assert_eq!(replaced["added"], 5);
    assert_eq!(replaced["removed"], 50);
    assert_eq!(publisher_total(&server, "openreaders").await, 5);

    let data = server.graphql_ok(SOURCES, json!({ "id": "openreaders" }), Some(&key)).await;
    let source = &data["publisher"]["sources"][0];
    assert_eq!(source["id"], id.as_str());
    assert_eq!(source["format"], "LRMI");
    assert_eq!(source["refreshSeconds"], 3600);
    assert_eq!(source["authentication"], "NONE");
    assert_eq!(source["lastRun"]["status"], "SUCCEEDED");
    assert_eq!(source["lastRun"]["removed"], 50);
    assert!(source["nextRunAt"].is_string());
    assert!(source["runs"].as_array().unwrap().len() >= 3);
}

#[tokio::test]
async fn test_oai_repository_is_harvested_in_full_then_incrementally_with_deletions() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("histarchive", "HistArchive").await;
    let id = add_source(&server, &key, json!({ "url": publishers.url("/oai"), "format": "OAI_PMH" })).await;

    let full = first_run(&server, &key, "histarchive", &id).await;
    assert_eq!(full["status"], "SUCCEEDED", "{full:#}");
    assert_eq!(full["added"], 30);
    assert_eq!(full["requests"], 3);
    assert_eq!(publisher_total(&server, "histarchive").await, 30);
    let asked = publishers.seen("/oai");
    assert_eq!(asked[0].query["verb"], "ListRecords");
    assert_eq!(asked[0].query["metadataPrefix"], "lom");
    assert!(!asked[0].query.contains_key("from"));
    assert_eq!(asked[1].query["resumptionToken"], "page-2");
    assert!(!asked[1].query.contains_key("metadataPrefix"));
    assert_eq!(asked[2].query["resumptionToken"], "page-3");

    let incremental = harvest_now(&server, &key, &id).await;
    assert_eq!(incremental["status"], "SUCCEEDED", "{incremental:#}");
    assert_eq!(incremental["removed"], 1);
    assert_eq!(incremental["updated"], 1);
    assert_eq!(incremental["added"], 0);
    let asked = publishers.seen("/oai");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(asked.last().unwrap().query["from"], today);
    assert_eq!(publisher_total(&server, "histarchive").await, 29);
    let found = server.search(json!({ "query": "revised edition", "filter": { "publishers": ["histarchive"] } })).await;
    assert_eq!(
        crate::common::edge_ids(&found).first().map(String::as_str),
        Some("histarchive:oai:histarchive.example.net:ha-1001")
    );
    let deleted = server
        .graphql_ok("{ resource(id: \"histarchive:oai:histarchive.example.net:ha-1017\") { id } }", json!({}), None)
        .await;
    assert!(deleted["resource"].is_null());
}

#[tokio::test]
async fn test_expired_resumption_token_restarts_once_and_a_failed_run_keeps_everything() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("histarchive", "HistArchive").await;
    // The first run (the scheduler starts it at once) meets an expired token.
    publishers.shared.oai_expire_once.store(true, Ordering::SeqCst);
    let id = add_source(&server, &key, json!({ "url": publishers.url("/oai"), "format": "OAI_PMH" })).await;
    let restarted = first_run(&server, &key, "histarchive", &id).await;
    assert_eq!(restarted["status"], "SUCCEEDED", "{restarted:#}");
    assert_eq!(restarted["added"], 30);
    assert_eq!(restarted["requests"], 5, "page 1, expired page 2, then pages 1-3");
    let report = messages(&restarted);
    assert!(report.contains("WARNING") && report.contains("badResumptionToken"), "{report}");

    // Now every token expires: the run fails and the 30 records stay searchable.
    publishers.shared.oai_ignore_from.store(true, Ordering::SeqCst);
    publishers.shared.oai_always_expire.store(true, Ordering::SeqCst);
    let failed = harvest_now(&server, &key, &id).await;
    assert_eq!(failed["status"], "FAILED", "{failed:#}");
    assert_eq!(failed["httpStatus"], 200);
    let report = messages(&failed);
    assert!(
        report.contains("ERROR") && report.contains("badResumptionToken") && report.contains("expired"),
        "{report}"
    );
    assert_eq!(failed["removed"], 0);
    assert_eq!(publisher_total(&server, "histarchive").await, 30);
    let data = server.graphql_ok(SOURCES, json!({ "id": "histarchive" }), Some(&key)).await;
    assert_eq!(data["publisher"]["sources"][0]["lastRun"]["status"], "FAILED");
}

#[tokio::test]
async fn test_resource_search_harvest_follows_link_and_total_count() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("sciencelab", "ScienceLab").await;
    let id =
        add_source(&server, &key, json!({ "url": publishers.url("/rs/paged"), "format": "RESOURCE_SEARCH" })).await;
    let run = first_run(&server, &key, "sciencelab", &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["added"], 48);
    assert_eq!(run["requests"], 2);
    let asked = publishers.seen("/rs/paged/resources");
    assert_eq!(asked[0].query["offset"], "0");
    assert_eq!(asked[0].query["limit"], "100");
    assert_eq!(asked[1].query["offset"], "25");
    assert_eq!(publisher_total(&server, "sciencelab").await, 48);
    // The same content again is not re-indexed.
    let again = harvest_now(&server, &key, &id).await;
    assert_eq!(again["status"], "UNCHANGED", "{again:#}");
    let found =
        server.graphql_ok("{ resource(id: \"sciencelab:SL-1048\") { id sourceId format } }", json!({}), None).await;
    assert_eq!(found["resource"]["sourceId"], id.as_str());
    assert_eq!(found["resource"]["format"], "RESOURCE_SEARCH");
}

#[tokio::test]
async fn test_server_errors_are_retried_with_backoff_and_retry_after() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("sciencelab", "ScienceLab").await;
    let id =
        add_source(&server, &key, json!({ "url": publishers.url("/rs/flaky"), "format": "RESOURCE_SEARCH" })).await;
    let run = first_run(&server, &key, "sciencelab", &id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["added"], 25);
    // 503 (Retry-After: 1), 500, the page, then the empty page that ends the list.
    assert_eq!(run["requests"], 4);
    assert!(run["durationMs"].as_i64().unwrap() >= 1000, "Retry-After was honoured: {run:#}");
    assert_eq!(publishers.shared.flaky_calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn test_garbage_from_a_publisher_fails_the_run_and_keeps_the_previous_resources() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("sciencelab", "ScienceLab").await;
    let id =
        add_source(&server, &key, json!({ "url": publishers.url("/rs/garbage"), "format": "RESOURCE_SEARCH" })).await;
    let good = first_run(&server, &key, "sciencelab", &id).await;
    assert_eq!(good["status"], "SUCCEEDED", "{good:#}");
    assert_eq!(publisher_total(&server, "sciencelab").await, 25);

    publishers.shared.garbage.store(true, Ordering::SeqCst);
    let failed = harvest_now(&server, &key, &id).await;
    assert_eq!(failed["status"], "FAILED", "{failed:#}");
    assert_eq!(failed["httpStatus"], 200);
    assert_eq!(failed["removed"], 0);
    let report = messages(&failed);
    assert!(report.contains("ERROR") && report.contains("JSON"), "{report}");
    assert_eq!(publisher_total(&server, "sciencelab").await, 25);
    let data = server.graphql_ok(SOURCES, json!({ "id": "sciencelab" }), Some(ADMIN_TOKEN)).await;
    let source = &data["publisher"]["sources"][0];
    assert_eq!(source["lastRun"]["status"], "FAILED");
    assert_eq!(source["runs"][1]["status"], "SUCCEEDED");
}

#[tokio::test]
async fn test_oauth_and_bearer_sources_never_show_their_secrets() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("sciencelab", "ScienceLab").await;
    let other_key = server.register_publisher("other", "Other Publisher").await;
    let oauth_id = add_source(
        &server,
        &key,
        json!({
            "url": publishers.url("/rs/oauth"),
            "format": "RESOURCE_SEARCH",
            "oauth": {
                "tokenUrl": publishers.url("/oauth/token"),
                "clientId": "gateway-client",
                "clientSecret": OAUTH_SECRET,
                "scope": "rs.read"
            }
        }),
    )
    .await;
    let first = first_run(&server, &key, "sciencelab", &oauth_id).await;
    assert_eq!(first["status"], "SUCCEEDED", "{first:#}");
    assert_eq!(first["added"], 23);
    let second = harvest_now(&server, &key, &oauth_id).await;
    assert_eq!(second["status"], "UNCHANGED", "{second:#}");
    assert_eq!(publishers.shared.token_calls.load(Ordering::SeqCst), 1, "the token is cached until it expires");

    let bearer_id = add_source(
        &server,
        &key,
        json!({
            "url": publishers.url("/rs/bearer"),
            "format": "RESOURCE_SEARCH",
            "bearerToken": BEARER_SECRET,
            "refreshSeconds": 600
        }),
    )
    .await;
    let bearer_run = first_run(&server, &key, "sciencelab", &bearer_id).await;
    assert_eq!(bearer_run["status"], "SUCCEEDED", "{bearer_run:#}");
    assert_eq!(bearer_run["added"], 0, "the same 23 resources, now from this source");
    assert_eq!(bearer_run["updated"], 23);

    // What the publisher and the admin see: everything but the secrets.
    for token in [key.as_str(), ADMIN_TOKEN] {
        let response = server.graphql(SOURCES, json!({ "id": "sciencelab" }), Some(token)).await;
        assert!(response.get("errors").is_none(), "{response:#}");
        let text = response.to_string();
        assert!(!text.contains(OAUTH_SECRET) && !text.contains(BEARER_SECRET));
        assert!(!text.contains(ISSUED_TOKEN));
        let sources = response["data"]["publisher"]["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0]["authentication"], "OAUTH_CLIENT_CREDENTIALS");
        assert_eq!(sources[1]["authentication"], "BEARER");
    }
    // Nobody else sees them.
    let anonymous = server.graphql(SOURCES, json!({ "id": "sciencelab" }), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous:#}");
    let foreign = server.graphql(SOURCES, json!({ "id": "sciencelab" }), Some(&other_key)).await;
    assert_eq!(error_code(&foreign), "FORBIDDEN", "{foreign:#}");
    let not_yours = server.graphql(HARVEST_NOW, json!({ "id": oauth_id }), Some(&other_key)).await;
    assert_eq!(error_code(&not_yours), "NOT_FOUND", "{not_yours:#}");
    // Secrets never reach the log files either: the data folder's logs are the process's
    // stderr, so check that nothing else in the data folder holds them in clear but the
    // registry.
    for entry in walk(&server.data_dir) {
        if entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with("registry.sqlite3")) {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(OAUTH_SECRET), "{}", entry.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn test_live_search_merges_holds_the_deadline_and_caches() {
    const DEADLINE_MS: u64 = 800;
    let publishers = Publishers::start().await;
    let server = TestServer::federated(DEADLINE_MS).await;
    let key = server.register_publisher("sciencelab", "ScienceLab").await;
    let slow_key = server.register_publisher("slowpub", "Slow Publisher").await;
    let broken_key = server.register_publisher("brokenpub", "Broken Publisher").await;
    let live_id = add_source(
        &server,
        &key,
        json!({ "url": publishers.url("/rs/live"), "format": "RESOURCE_SEARCH", "live": true }),
    )
    .await;
    let harvested = first_run(&server, &key, "sciencelab", &live_id).await;
    assert_eq!(harvested["added"], 25, "{harvested:#}");
    let slow_id = add_source(
        &server,
        &slow_key,
        json!({ "url": publishers.url("/rs/slow"), "format": "RESOURCE_SEARCH", "live": true }),
    )
    .await;
    publishers.shared.garbage.store(true, Ordering::SeqCst);
    let broken_id = add_source(
        &server,
        &broken_key,
        json!({ "url": publishers.url("/rs/garbage"), "format": "RESOURCE_SEARCH", "live": true }),
    )
    .await;
    // The publisher publishes something new after the last harvest.
    publishers.shared.live_published.store(true, Ordering::SeqCst);

    let started = Instant::now();
    let data = server.graphql_ok(LIVE_SEARCH, json!({ "query": "photosynthesis" }), None).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(DEADLINE_MS + 700), "the answer took {elapsed:?}, past the deadline");
    let search = &data["search"];
    let ids = crate::common::edge_ids(search);
    assert_eq!(ids.first().map(String::as_str), Some("sciencelab:SL-9999"), "{search:#}");
    assert_eq!(ids.iter().filter(|id| *id == "sciencelab:SL-1001").count(), 1);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no duplicates: {ids:?}");
    assert_eq!(search["totalCount"].as_u64().unwrap() as usize, ids.len());

    let sources = search["sources"].as_array().unwrap();
    let status_of = |source_id: &str| {
        sources
            .iter()
            .find(|s| s["sourceId"] == source_id)
            .cloned()
            .unwrap_or_else(|| panic!("no report for {source_id}: {sources:#?}"))
    };
    let index = sources.iter().find(|s| s["status"] == "INDEX").expect("an INDEX entry");
    assert_eq!(index["publisher"]["id"], "sciencelab");
    assert_eq!(index["resultCount"], 25);
    let live = status_of(&live_id);
    assert_eq!(live["status"], "LIVE", "{live:#}");
    assert!(live["resultCount"].as_i64().unwrap() >= 2);
    let slow = status_of(&slow_id);
    assert_eq!(slow["status"], "TIMEOUT", "{slow:#}");
    assert_eq!(slow["publisher"]["id"], "slowpub");
    assert!(slow["tookMs"].as_u64().unwrap() >= DEADLINE_MS - 50);
    assert!(slow["message"].as_str().unwrap().contains("800 ms"));
    let broken = status_of(&broken_id);
    assert_eq!(broken["status"], "ERROR", "{broken:#}");
    assert!(broken["message"].as_str().unwrap().contains("JSON"), "{broken:#}");

    // The same search again: the fast publisher's answer comes from the cache.
    let live_requests = |publishers: &Publishers| {
        publishers.seen("/rs/live/resources").iter().filter(|s| s.query.contains_key("filter")).count()
    };
    assert_eq!(live_requests(&publishers), 1);
    let again = server.graphql_ok(LIVE_SEARCH, json!({ "query": "photosynthesis" }), None).await;
    let cached = again["search"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sourceId"] == live_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(cached["status"], "CACHED", "{cached:#}");
    assert_eq!(live_requests(&publishers), 1);
    assert_eq!(crate::common::edge_ids(&again["search"]), ids, "cached answers page the same way");

    // A live hit can be inserted into a course like an indexed one.
    let items = server.graphql_ok("{ contentItems(resourceIds: [\"sciencelab:SL-9999\"]) }", json!({}), None).await;
    assert_eq!(items["contentItems"][0]["title"], "Photosynthesis Field Lab: Newest Edition");
    // Without live, only the index answers, and `sources` says so.
    let local = server
        .graphql_ok(
            "{ search(query: \"photosynthesis\") { edges { node { id } } sources { status publisher { id } } } }",
            json!({}),
            None,
        )
        .await;
    assert!(!crate::common::edge_ids(&local["search"]).contains(&"sciencelab:SL-9999".to_string()));
    let states: Vec<&str> =
        local["search"]["sources"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["INDEX"]);
}

#[tokio::test]
async fn test_a_live_source_that_missed_the_deadline_is_not_waited_for_until_a_check_answers() {
    const DEADLINE_MS: u64 = 500;
    const RETRY_MS: u64 = 1_000;
    let publishers = Publishers::start().await;
    let server = TestServer::start_with(|config| {
        config.load_samples = false;
        config.allow_networks = vec!["127.0.0.1/32".parse().expect("network")];
        config.live_deadline = Duration::from_millis(DEADLINE_MS);
        config.live_retry_after = Duration::from_millis(RETRY_MS);
    })
    .await;
    let key = server.register_publisher("slowpub", "Slow Publisher").await;
    let slow_id = add_source(
        &server,
        &key,
        json!({ "url": publishers.url("/rs/slow"), "format": "RESOURCE_SEARCH", "live": true }),
    )
    .await;
    let slow_requests =
        || publishers.seen("/rs/slow/resources").iter().filter(|s| s.query.contains_key("filter")).count();
    let search = |words: &'static str| {
        let server = &server;
        let slow_id = slow_id.clone();
        async move {
            let started = Instant::now();
            let data = server.graphql_ok(LIVE_SEARCH, json!({ "query": words }), None).await;
            let report = data["search"]["sources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["sourceId"] == slow_id.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("no report for the slow source: {data:#}"));
            (report, started.elapsed())
        }
    };

    // The first search waits the whole deadline.
    let (report, elapsed) = search("photosynthesis").await;
    assert_eq!(report["status"], "TIMEOUT", "{report:#}");
    assert!(elapsed >= Duration::from_millis(DEADLINE_MS - 50), "{elapsed:?}");
    assert_eq!(slow_requests(), 1);

    // The next ones do not ask it and do not wait.
    for words in ["chlorophyll", "stomata", "leaf"] {
        let (report, elapsed) = search(words).await;
        assert_eq!(report["status"], "UNAVAILABLE", "{report:#}");
        assert!(elapsed < Duration::from_millis(DEADLINE_MS / 2), "{words}: {elapsed:?}");
        let message = report["message"].as_str().unwrap();
        assert!(message.contains("missed the deadline once") && message.contains("next check in"), "{message}");
        assert_eq!(report["resultCount"], 0);
    }
    assert_eq!(slow_requests(), 1, "a source in trouble is not asked");

    // It comes back; after the retry wait, one search starts a background check (still without
    // waiting for it), and once the check has answered in time the source is asked again.
    publishers.shared.slow_recovered.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(RETRY_MS + 100)).await;
    let (report, elapsed) = search("xylem").await;
    assert_eq!(report["status"], "UNAVAILABLE", "{report:#}");
    assert!(report["message"].as_str().unwrap().contains("checked again in the background"), "{report:#}");
    assert!(elapsed < Duration::from_millis(DEADLINE_MS / 2), "{elapsed:?}");
    let mut status = String::new();
    for attempt in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (report, _) = search(["phloem", "roots", "sunlight"][attempt % 3]).await;
        status = report["status"].as_str().unwrap_or_default().to_string();
        if status == "LIVE" || status == "CACHED" {
            break;
        }
    }
    assert!(status == "LIVE" || status == "CACHED", "the source never became healthy again: {status}");
    // The background check's answer was cached for the search that started it.
    let (report, _) = search("xylem").await;
    assert_eq!(report["status"], "CACHED", "{report:#}");
}

#[tokio::test]
async fn test_outbound_safety_rules_apply_to_sources() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("acme", "Acme").await;
    let refused = [
        json!({ "url": "http://10.0.0.8/catalog.json", "format": "LRMI" }),
        json!({ "url": "http://169.254.169.254/latest", "format": "LRMI" }),
        json!({ "url": "ftp://feeds.example.com/catalog.json", "format": "LRMI" }),
        json!({ "url": format!("http://user:pw@{}/static/catalog", publishers.addr), "format": "LRMI" }),
        json!({ "url": publishers.url("/static/catalog"), "format": "LRMI", "live": true }),
        json!({ "url": publishers.url("/static/catalog"), "format": "LRMI", "refreshSeconds": 5 }),
        json!({ "url": publishers.url("/rs/oauth"), "format": "RESOURCE_SEARCH",
                "bearerToken": "x", "oauth": { "tokenUrl": publishers.url("/oauth/token"), "clientId": "c", "clientSecret": "s" } }),
    ];
    for input in refused {
        let response = server.graphql(ADD_SOURCE, json!({ "input": input }), Some(&key)).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{input}: {response:#}");
    }
    let anonymous = server
        .graphql(ADD_SOURCE, json!({ "input": { "url": publishers.url("/static/catalog"), "format": "LRMI" } }), None)
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // A redirect is re-checked: a feed that redirects to the metadata address fails.
    let id = add_source(&server, &key, json!({ "url": publishers.url("/redirect"), "format": "LRMI" })).await;
    let run = first_run(&server, &key, "acme", &id).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    assert!(messages(&run).contains("GATEWAY_ALLOW_NETWORKS"), "{run:#}");
}

#[tokio::test]
async fn test_scheduler_harvests_new_sources_and_schedules_survive_a_restart() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("sciencelab", "ScienceLab").await;
    let id = add_source(
        &server,
        &key,
        json!({ "url": publishers.url("/rs/paged"), "format": "RESOURCE_SEARCH", "refreshSeconds": 3600 }),
    )
    .await;
    // No harvestNow: the scheduler picks the new source up by itself.
    let mut source = Value::Null;
    for _ in 0..200 {
        let data = server.graphql_ok(SOURCES, json!({ "id": "sciencelab" }), Some(&key)).await;
        source = data["publisher"]["sources"][0].clone();
        if source["lastRun"]["status"] == "SUCCEEDED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(source["lastRun"]["status"], "SUCCEEDED", "{source:#}");
    assert_eq!(source["lastRun"]["added"], 48);
    let finished = chrono::DateTime::parse_from_rfc3339(source["lastRun"]["finishedAt"].as_str().unwrap()).unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(source["nextRunAt"].as_str().unwrap()).unwrap();
    let wait = (next - finished).num_seconds();
    assert!((3599..=3960).contains(&wait), "next run {wait} s after the last");

    let server = server.restart().await;
    let data = server.graphql_ok(SOURCES, json!({ "id": "sciencelab" }), Some(&key)).await;
    let after = &data["publisher"]["sources"][0];
    assert_eq!(after["id"], id.as_str());
    assert_eq!(after["lastRun"]["id"], source["lastRun"]["id"]);
    assert_eq!(after["nextRunAt"], source["nextRunAt"]);
    assert_eq!(publisher_total(&server, "sciencelab").await, 48);
    // Nothing ran again on start: the next run is an hour away.
    assert_eq!(publishers.seen("/rs/paged/resources").len(), 2);
}

#[tokio::test]
async fn test_shutdown_interrupts_a_running_harvest_cleanly() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("slowpub", "Slow Publisher").await;
    let id = add_source(
        &server,
        &key,
        json!({ "url": publishers.url("/rs/slow"), "format": "RESOURCE_SEARCH", "refreshSeconds": 60 }),
    )
    .await;
    let mut status = Value::Null;
    let mut run_id = Value::Null;
    for _ in 0..100 {
        let data = server.graphql_ok(SOURCE_RUNS, json!({ "id": "slowpub" }), Some(&key)).await;
        status = data["publisher"]["sources"][0]["lastRun"]["status"].clone();
        run_id = data["publisher"]["sources"][0]["lastRun"]["id"].clone();
        if status == "RUNNING" && !publishers.seen("/rs/slow/resources").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "RUNNING");
    // The publisher takes 3 s to answer; the stop does not wait for it.
    let started = Instant::now();
    let server = server.restart().await;
    assert!(started.elapsed() < Duration::from_millis(2500), "restart took {:?}", started.elapsed());
    let data = server
        .graphql_ok(
            "query($id: ID!) { publisher(id: $id) { sources { runs(first: 5) { id sourceId status diagnostics { item severity message } } } } }",
            json!({ "id": "slowpub" }),
            Some(&key),
        )
        .await;
    // The restarted scheduler may already run the source again: find the interrupted run.
    let run = data["publisher"]["sources"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == run_id)
        .cloned()
        .expect("the interrupted run is listed");
    let run = &run;
    assert_eq!(run["sourceId"], id.as_str());
    assert_eq!(run["status"], "FAILED", "{run:#}");
    assert!(messages(run).contains("stopped during the run"), "{run:#}");
    assert_eq!(publisher_total(&server, "slowpub").await, 0);
}

const REMOVE_SOURCE: &str = "mutation($id: String!, $publisher: ID) {
  removeCatalogSource(sourceId: $id, publisher: $publisher) { sourceId publisher feed removed }
}";

#[tokio::test]
async fn test_removing_sources_takes_their_resources_out_and_stops_harvesting() {
    let publishers = Publishers::start().await;
    let server = TestServer::federated(800).await;
    let key = server.register_publisher("openreaders", "OpenReaders").await;
    let other = server.register_publisher("sciencelab", "ScienceLab").await;
    let feed = add_source(
        &server,
        &key,
        json!({ "url": publishers.url("/static/catalog"), "format": "LRMI", "refreshSeconds": 3600 }),
    )
    .await;
    assert_eq!(first_run(&server, &key, "openreaders", &feed).await["status"], "SUCCEEDED");
    let pushed = server
        .ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi-array.json"), json!({ "source": "spring" }))
        .await;
    assert_eq!(pushed["added"], 5, "{pushed:#}");
    let theirs = server
        .ingest(&other, "RESOURCE_SEARCH", &fixture_text("catalogs/sciencelab-resource-search.json"), json!({}))
        .await;
    let their_total = publisher_total(&server, "sciencelab").await;
    assert!(their_total > 0, "{theirs:#}");
    assert_eq!(publisher_total(&server, "openreaders").await, 55);

    // Nobody but the owner (or the admin) removes a source; another key cannot tell it exists.
    let anonymous = server.graphql(REMOVE_SOURCE, json!({ "id": feed }), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous:#}");
    let stranger = server.graphql(REMOVE_SOURCE, json!({ "id": feed }), Some(&other)).await;
    assert_eq!(error_code(&stranger), "NOT_FOUND", "{stranger:#}");
    let reaching =
        server.graphql(REMOVE_SOURCE, json!({ "id": "spring", "publisher": "openreaders" }), Some(&other)).await;
    assert_eq!(error_code(&reaching), "FORBIDDEN", "{reaching:#}");
    let escape = server.graphql(REMOVE_SOURCE, json!({ "id": ".." }), Some(&key)).await;
    assert_eq!(error_code(&escape), "BAD_USER_INPUT", "{escape:#}");
    assert_eq!(publisher_total(&server, "openreaders").await, 55);

    // The feed: its 50 resources and its registration go; harvesting it stops.
    let removed = server.graphql_ok(REMOVE_SOURCE, json!({ "id": feed }), Some(&key)).await;
    assert_eq!(
        removed["removeCatalogSource"],
        json!({ "sourceId": feed, "publisher": "openreaders", "feed": true, "removed": 50 })
    );
    assert_eq!(publisher_total(&server, "openreaders").await, 5);
    let listed = server.graphql_ok(SOURCES, json!({ "id": "openreaders" }), Some(&key)).await;
    assert_eq!(listed["publisher"]["sources"], json!([]));
    let harvest = server.graphql(HARVEST_NOW, json!({ "id": feed }), Some(&key)).await;
    assert_eq!(error_code(&harvest), "NOT_FOUND", "{harvest:#}");

    // Pushed documents by their source name; the admin names the publisher.
    let unnamed = server.graphql(REMOVE_SOURCE, json!({ "id": "spring" }), Some(ADMIN_TOKEN)).await;
    assert_eq!(error_code(&unnamed), "BAD_USER_INPUT", "{unnamed:#}");
    let removed = server
        .graphql_ok(REMOVE_SOURCE, json!({ "id": "spring", "publisher": "openreaders" }), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(
        removed["removeCatalogSource"],
        json!({ "sourceId": "spring", "publisher": "openreaders", "feed": false, "removed": 5 })
    );
    assert_eq!(publisher_total(&server, "openreaders").await, 0);
    let again = server.graphql(REMOVE_SOURCE, json!({ "id": "spring" }), Some(&key)).await;
    assert_eq!(error_code(&again), "NOT_FOUND", "{again:#}");
    // Another publisher's resources were never touched.
    assert_eq!(publisher_total(&server, "sciencelab").await, their_total);

    // A feed being harvested is not removed (the run would bring its resources back).
    let slow =
        add_source(&server, &key, json!({ "url": publishers.url("/rs/slow"), "format": "RESOURCE_SEARCH" })).await;
    let running = server
        .graphql_ok(
            "mutation($id: ID!) { harvestNow(sourceId: $id, wait: false) { status } }",
            json!({ "id": slow }),
            Some(&key),
        )
        .await;
    assert!(matches!(running["harvestNow"]["status"].as_str(), Some("PENDING" | "RUNNING")), "{running:#}");
    let busy = server.graphql(REMOVE_SOURCE, json!({ "id": slow }), Some(&key)).await;
    assert_eq!(error_code(&busy), "UNAVAILABLE", "{busy:#}");
    let busy =
        server.graphql("mutation { removePublisher(id: \"openreaders\") { id } }", json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(error_code(&busy), "UNAVAILABLE", "nor its publisher: {busy:#}");
    let finished = first_run(&server, &key, "openreaders", &slow).await;
    assert_eq!(finished["status"], "SUCCEEDED", "{finished:#}");
    let harvested = publisher_total(&server, "openreaders").await;
    assert!(harvested > 0);
    let removed = server.graphql_ok(REMOVE_SOURCE, json!({ "id": slow }), Some(ADMIN_TOKEN)).await;
    assert_eq!(removed["removeCatalogSource"]["removed"], harvested);
    assert_eq!(publisher_total(&server, "openreaders").await, 0);
}
