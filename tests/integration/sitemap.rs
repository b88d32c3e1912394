//! A SITEMAP source against a publisher's site on 127.0.0.1: a sitemap index pointing at a
//! gzip-compressed sitemap and a plain one, pages with and without JSON-LD, a page whose
//! `lastmod` changes, a page that leaves the sitemap, a slow page and a page that does not
//! answer in time. Checks what was fetched (conditionally, how often, how far apart), what was
//! indexed and removed, and that an index rebuilt from the catalog log shows the site as it is.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::common::{own_fixture_bytes, TestServer};

/// One request the site saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    at: Instant,
    conditional: bool,
}

/// What the site serves; the test changes it between runs.
struct Site {
    /// Page path → (lastmod, fixture file), in sitemap order; `None` lastmod = none given.
    pages: Vec<(String, Option<String>, String)>,
    /// How long `/lessons/stuck` takes to answer.
    stuck_for: Duration,
    seen: Vec<Seen>,
    addr: Option<SocketAddr>,
}

type Shared = Arc<Mutex<Site>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Site> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn record(shared: &Shared, path: &str, headers: &HeaderMap) {
    let conditional = headers.contains_key(header::IF_NONE_MATCH) || headers.contains_key(header::IF_MODIFIED_SINCE);
    lock(shared).seen.push(Seen { path: path.to_string(), at: Instant::now(), conditional });
}

fn urlset(base: &str, pages: &[(String, Option<String>, String)]) -> String {
    let entries: String = pages
        .iter()
        .map(|(path, lastmod, _)| {
            let lastmod = lastmod.as_deref().map(|m| format!("<lastmod>{m}</lastmod>")).unwrap_or_default();
            format!("<url><loc>{base}{path}</loc>{lastmod}<changefreq>weekly</changefreq></url>")
        })
        .collect();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{entries}</urlset>")
}

async fn sitemap_index(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    record(&shared, "/sitemap.xml", &headers);
    let base = format!("http://{}", lock(&shared).addr.unwrap());
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <sitemap><loc>{base}/sitemap-lessons.xml.gz</loc></sitemap>\
         <sitemap><loc>{base}/sitemap-more.xml</loc></sitemap></sitemapindex>"
    );
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// The lessons, gzip-compressed (served as a `.gz` file, not with `Content-Encoding`).
async fn lessons_sitemap(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    record(&shared, "/sitemap-lessons.xml.gz", &headers);
    let (base, pages) = {
        let site = lock(&shared);
        let pages: Vec<_> = site.pages.iter().filter(|(path, _, _)| path.starts_with("/lessons/")).cloned().collect();
        (format!("http://{}", site.addr.unwrap()), pages)
    };
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(urlset(&base, &pages).as_bytes()).unwrap();
    ([(header::CONTENT_TYPE, "application/gzip")], encoder.finish().unwrap()).into_response()
}

/// Other pages, and one on another site (which the harvest must not follow).
async fn more_sitemap(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    record(&shared, "/sitemap-more.xml", &headers);
    let (base, mut pages) = {
        let site = lock(&shared);
        let pages: Vec<_> = site.pages.iter().filter(|(path, _, _)| !path.starts_with("/lessons/")).cloned().collect();
        (format!("http://{}", site.addr.unwrap()), pages)
    };
    let body = urlset(&base, &pages);
    pages.clear();
    let body = body.replace("</urlset>", "<url><loc>https://elsewhere.example.com/page</loc></url></urlset>");
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn page(State(shared): State<Shared>, Path(rest): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/{rest}");
    record(&shared, &path, &headers);
    let (file, stuck_for) = {
        let site = lock(&shared);
        let file = site.pages.iter().find(|(p, _, _)| *p == path).map(|(_, _, file)| file.clone());
        (file, site.stuck_for)
    };
    let Some(file) = file else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if path == "/lessons/slow" {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if path == "/lessons/stuck" {
        tokio::time::sleep(stuck_for).await;
    }
    let body = own_fixture_bytes(&format!("sitemap-site/{file}"));
    let etag = format!("\"{}-{}\"", file, body.len());
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()), (header::ETAG, etag)], body).into_response()
}

async fn start_site(pages: Vec<(&str, Option<&str>, &str)>) -> (Shared, SocketAddr) {
    let shared: Shared = Arc::new(Mutex::new(Site {
        pages: pages.into_iter().map(|(p, m, f)| (p.to_string(), m.map(str::to_string), f.to_string())).collect(),
        stuck_for: Duration::from_secs(5),
        seen: Vec::new(),
        addr: None,
    }));
    let app = Router::new()
        .route("/sitemap.xml", get(sitemap_index))
        .route("/sitemap-lessons.xml.gz", get(lessons_sitemap))
        .route("/sitemap-more.xml", get(more_sitemap))
        .route("/{*rest}", get(page))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    lock(&shared).addr = Some(addr);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (shared, addr)
}

const RUN_FIELDS: &str =
    "id status added updated removed rejected httpStatus requests diagnostics { item severity message }";

/// Waits for the first run of a new source (the scheduler starts it at once) to end.
async fn wait_first_run(server: &TestServer, key: &str, source: &str) -> Value {
    let query = format!("query($id: ID!) {{ publisher(id: $id) {{ sources {{ id lastRun {{ {RUN_FIELDS} }} }} }} }}");
    let mut last = Value::Null;
    for _ in 0..600 {
        let data = server.graphql_ok(&query, json!({ "id": "site" }), Some(key)).await;
        let sources = data["publisher"]["sources"].as_array().unwrap().clone();
        last = sources.iter().find(|s| s["id"] == source).map(|s| s["lastRun"].clone()).unwrap_or(Value::Null);
        if matches!(last["status"].as_str(), Some("SUCCEEDED" | "UNCHANGED" | "PARTIAL" | "FAILED")) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the first run did not finish: {last:#}");
}

async fn harvest_now(server: &TestServer, key: &str, source: &str) -> Value {
    let mutation = format!("mutation($id: ID!) {{ harvestNow(sourceId: $id) {{ {RUN_FIELDS} }} }}");
    server.graphql_ok(&mutation, json!({ "id": source }), Some(key)).await["harvestNow"].clone()
}

async fn titles(server: &TestServer) -> Vec<String> {
    let found = server.search(json!({ "filter": { "publishers": ["site"] }, "first": 50, "sort": "TITLE" })).await;
    found["edges"].as_array().unwrap().iter().map(|e| e["node"]["title"].as_str().unwrap().to_string()).collect()
}

fn messages(run: &Value) -> String {
    run["diagnostics"].to_string()
}

/// Page requests of one run (not the sitemaps).
fn page_requests(seen: &[Seen]) -> Vec<Seen> {
    seen.iter().filter(|s| !s.path.starts_with("/sitemap")).cloned().collect()
}

#[tokio::test]
async fn test_sitemap_harvest_is_incremental_polite_and_removes_vanished_pages() {
    let (site, addr) = start_site(vec![
        ("/lessons/fractions", Some("2026-01-10"), "fractions.html"),
        ("/lessons/volcanoes", Some("2026-01-11T08:00:00+00:00"), "volcanoes.html"),
        ("/lessons/slow", Some("2026-01-12"), "slow.html"),
        ("/lessons/stuck", Some("2026-01-12"), "slow.html"),
        ("/imprint", Some("2025-06-01"), "imprint.html"),
        ("/rivers", None, "rivers.html"),
    ])
    .await;
    let delay = Duration::from_millis(150);
    let server = TestServer::start_with(|config| {
        config.load_samples = false;
        config.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        config.sitemap.delay = delay;
        config.sitemap.page_timeout = Duration::from_millis(600);
    })
    .await;
    let key = server.register_publisher("site", "Example Site").await;
    let added = server
        .graphql_ok(
            "mutation($input: CatalogSourceInput!) { addCatalogSource(input: $input) { id format } }",
            json!({ "input": { "url": format!("http://{addr}/sitemap.xml"), "format": "SITEMAP", "refreshSeconds": 86400 } }),
            Some(&key),
        )
        .await;
    assert_eq!(added["addCatalogSource"]["format"], "SITEMAP");
    let source = added["addCatalogSource"]["id"].as_str().unwrap().to_string();

    // Run 1: everything is new. The stuck page does not answer in time and is left for later.
    let first = wait_first_run(&server, &key, &source).await;
    assert_eq!((first["status"].as_str(), first["added"].as_i64()), (Some("SUCCEEDED"), Some(4)), "{first:#}");
    let notes = messages(&first);
    assert!(notes.contains("/lessons/stuck") && notes.contains("page not read"), "{notes}");
    assert!(notes.contains("elsewhere.example.com"), "an off-site page is named, not fetched: {notes}");
    assert!(notes.contains("/imprint") && notes.contains("no JSON-LD"), "{notes}");
    assert_eq!(
        titles(&server).await,
        ["A page that answers slowly", "Brüche vergleichen", "How volcanoes erupt", "Rivers and their deltas"]
    );
    let fractions_id = format!("site:http://{addr}/lessons/fractions");
    let fractions = server
        .graphql_ok(
            "query($id: ID!) { resource(id: $id) { format subjects gradeMin gradeMax license } }",
            json!({ "id": fractions_id }),
            None,
        )
        .await;
    assert_eq!(fractions["resource"]["format"], "SITEMAP");
    assert_eq!(fractions["resource"]["subjects"], json!(["Mathematik", "Mathematics"]));
    assert_eq!(
        (fractions["resource"]["gradeMin"].as_i64(), fractions["resource"]["gradeMax"].as_i64()),
        (Some(1), Some(4))
    );
    let seen = std::mem::take(&mut lock(&site).seen);
    let pages = page_requests(&seen);
    assert!(!pages.iter().any(|s| s.path.contains("elsewhere")));
    for pair in pages.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= delay - Duration::from_millis(10), "{} then {} only {gap:?} apart", pair[0].path, pair[1].path);
    }
    let after_slow = pages.iter().position(|s| s.path == "/lessons/slow").map(|i| &pages[i..]).unwrap();
    let gap = after_slow[1].at.duration_since(after_slow[0].at);
    assert!(
        gap >= Duration::from_millis(700),
        "a slow answer (250 ms) makes the next request wait twice as long: {gap:?}"
    );

    // Run 2: one page changed (new lastmod), one left the sitemap, the stuck one answers now.
    {
        let mut site = lock(&site);
        site.stuck_for = Duration::ZERO;
        site.pages.retain(|(path, _, _)| path != "/lessons/volcanoes");
        let fractions = site.pages.iter_mut().find(|(path, _, _)| path == "/lessons/fractions").unwrap();
        fractions.1 = Some("2026-02-01".to_string());
        fractions.2 = "fractions-v2.html".to_string();
    }
    let second = harvest_now(&server, &key, &source).await;
    assert_eq!(
        (second["status"].as_str(), second["added"].as_i64(), second["updated"].as_i64(), second["removed"].as_i64()),
        (Some("SUCCEEDED"), Some(1), Some(1), Some(1)),
        "{second:#}"
    );
    assert_eq!(
        titles(&server).await,
        [
            "A page that answers slowly",
            "A page that answers slowly",
            "Brüche vergleichen und ordnen",
            "Rivers and their deltas"
        ]
    );
    let seen = std::mem::take(&mut lock(&site).seen);
    let fetched: Vec<(String, bool)> = page_requests(&seen).into_iter().map(|s| (s.path, s.conditional)).collect();
    assert_eq!(
        fetched,
        [
            ("/lessons/fractions".to_string(), true),
            ("/lessons/stuck".to_string(), false),
            ("/rivers".to_string(), true)
        ],
        "only the changed page, the page not read last time and the page without lastmod (conditionally)"
    );

    // Run 3: nothing changed: the page without lastmod answers 304.
    let third = harvest_now(&server, &key, &source).await;
    assert_eq!(third["status"], "UNCHANGED", "{third:#}");
    let seen = std::mem::take(&mut lock(&site).seen);
    let fetched: Vec<String> = page_requests(&seen).into_iter().map(|s| s.path).collect();
    assert_eq!(fetched, ["/rivers"]);

    // The catalog log keeps the site as it is: an index rebuilt from it shows the same resources.
    let before = titles(&server).await;
    let mut server = server;
    server.stop().await;
    std::fs::remove_dir_all(server.data_dir.join("tantivy")).unwrap();
    let server = server.restart().await;
    assert_eq!(titles(&server).await, before, "the rebuilt index has no vanished or outdated page");

    // Removing the source takes its pages' state with it: adding it again starts afresh.
    let removed = server
        .graphql_ok(
            "mutation($id: ID!) { removeCatalogSource(sourceId: $id) { removed } }",
            json!({ "id": source }),
            Some(&key),
        )
        .await;
    assert_eq!(removed["removeCatalogSource"]["removed"], 4);
}

#[tokio::test]
async fn test_a_sitemap_without_json_ld_pages_fails_and_a_broken_sitemap_changes_nothing() {
    let (_site, addr) = start_site(vec![("/imprint", Some("2025-06-01"), "imprint.html")]).await;
    let server = TestServer::start_with(|config| {
        config.load_samples = false;
        config.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        config.sitemap.delay = Duration::from_millis(10);
    })
    .await;
    let key = server.register_publisher("site", "Example Site").await;
    let add = |url: String| {
        let server = &server;
        let key = key.clone();
        async move {
            server
                .graphql_ok(
                    "mutation($input: CatalogSourceInput!) { addCatalogSource(input: $input) { id } }",
                    json!({ "input": { "url": url, "format": "SITEMAP" } }),
                    Some(&key),
                )
                .await["addCatalogSource"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let pages = add(format!("http://{addr}/sitemap.xml")).await;
    let run = wait_first_run(&server, &key, &pages).await;
    assert_eq!(run["status"], "FAILED", "{run:#}");
    assert!(messages(&run).contains("carries LRMI / schema.org JSON-LD"), "{run:#}");

    let broken = add(format!("http://{addr}/no-such-sitemap.xml")).await;
    let run = wait_first_run(&server, &key, &broken).await;
    assert_eq!((run["status"].as_str(), run["httpStatus"].as_i64()), (Some("FAILED"), Some(404)), "{run:#}");
}
