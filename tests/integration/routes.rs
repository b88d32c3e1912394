//! The HTTP and GraphQL routes on a scripted search backend instead of tantivy (the gateway is
//! composed the same way, `App::open_with_backend`): what a resolver asks the backend, and how
//! its answers and failures reach the client, without an index.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use resource_gateway::resource::{CatalogFormat, PublisherId, Resource, ResourceId, ResourceKind, ResourceRecord};
use resource_gateway::search::{
    ChangeCounts, Dimension, IndexChange, SearchBackend, SearchError, SearchHit, SearchRequest, SearchResults,
};
use resource_gateway::{App, Config};
use serde_json::json;

use crate::common::{TestServer, ADMIN_TOKEN};

/// Answers every search with the same two hits; records what it was asked.
#[derive(Default)]
struct ScriptedBackend {
    requests: Mutex<Vec<SearchRequest>>,
    applied: Mutex<Option<u64>>,
    failing: AtomicBool,
    unhealthy: AtomicBool,
}

fn record(local_id: &str, title: &str) -> ResourceRecord {
    let mut resource =
        Resource::new(local_id, title, format!("https://acme.example.org/{local_id}"), ResourceKind::Link);
    resource.subjects = vec!["Science".to_string()];
    ResourceRecord {
        publisher: PublisherId::parse("acme").unwrap(),
        source_id: "push-lrmi".to_string(),
        format: CatalogFormat::Lrmi,
        resource,
    }
}

#[async_trait]
impl SearchBackend for ScriptedBackend {
    async fn search(&self, request: SearchRequest) -> Result<SearchResults, SearchError> {
        self.requests.lock().unwrap().push(request);
        if self.failing.load(Ordering::SeqCst) {
            return Err(SearchError::Unavailable("the scripted index is busy".into()));
        }
        let hits = [("V-1", "Volcano Model"), ("V-2", "Volcano Quiz")]
            .into_iter()
            .map(|(id, title)| SearchHit { record: record(id, title), score: 1.0, highlights: Vec::new() })
            .collect();
        let facets = HashMap::from([(Dimension::Subject, vec![("Science".to_string(), 42)])]);
        Ok(SearchResults { total: 42, hits, facets })
    }

    async fn get(&self, ids: Vec<ResourceId>) -> Result<Vec<ResourceRecord>, SearchError> {
        Ok(ids.iter().filter(|id| id.to_string() == "acme:V-1").map(|_| record("V-1", "Volcano Model")).collect())
    }

    async fn apply(&self, _change: IndexChange, position: u64) -> Result<ChangeCounts, SearchError> {
        *self.applied.lock().unwrap() = Some(position);
        Ok(ChangeCounts::default())
    }

    async fn mark_applied(&self, position: u64) -> Result<(), SearchError> {
        *self.applied.lock().unwrap() = Some(position);
        Ok(())
    }

    fn applied_position(&self) -> Option<u64> {
        *self.applied.lock().unwrap()
    }

    fn num_resources(&self) -> u64 {
        42
    }

    async fn counts_by_publisher(&self) -> Result<HashMap<String, u64>, SearchError> {
        Ok(HashMap::from([("acme".to_string(), 42)]))
    }

    fn health(&self) -> Result<(), SearchError> {
        if self.unhealthy.load(Ordering::SeqCst) {
            return Err(SearchError::Unavailable("the scripted index cannot write".into()));
        }
        Ok(())
    }

    async fn close(&self) {}
}

#[tokio::test]
async fn test_routes_translate_between_graphql_and_a_scripted_backend() {
    let backend = Arc::new(ScriptedBackend::default());
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_data_dir(dir.path().join("data"));
    config.admin_token = Some(ADMIN_TOKEN.to_string());
    config.load_samples = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = App::open_with_backend(config, format!("http://{addr}"), backend.clone()).await.unwrap();
    let router = resource_gateway::router(app);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let gateway = TestServer::remote(addr).await;

    let found = gateway
        .graphql_ok(
            r#"{ search(query: "volcano", filter: { subjects: ["Science"], gradeMin: 3 }, first: 2) {
                   totalCount edges { node { id title url } } facets { subject { value count } } } }"#,
            json!({}),
            None,
        )
        .await;
    let search = &found["search"];
    assert_eq!(search["totalCount"], 42, "{found:#}");
    assert_eq!(search["edges"][0]["node"]["id"], "acme:V-1");
    assert_eq!(search["edges"][1]["node"]["url"], "https://acme.example.org/V-2");
    assert_eq!(search["facets"]["subject"], json!([{ "value": "Science", "count": 42 }]));
    {
        let requests = backend.requests.lock().unwrap();
        let asked = requests.last().expect("the resolver asked the backend");
        assert_eq!(asked.text.as_deref(), Some("volcano"));
        assert_eq!(asked.filter.subjects, vec!["Science".to_string()]);
        assert_eq!(asked.filter.grade_min, Some(3));
        assert_eq!(asked.offset, 0);
        assert!(asked.limit >= 2, "{asked:?}");
        assert_eq!(asked.facets, vec![Dimension::Subject], "only the facets the query selects are counted");
        assert!(!asked.with_highlights, "no highlights asked, none computed");
    }

    let one = gateway.graphql_ok(r#"{ resource(id: "acme:V-1") { title } }"#, json!({}), None).await;
    assert_eq!(one["resource"]["title"], "Volcano Model");

    // The backend's failures reach the client with their code.
    backend.failing.store(true, Ordering::SeqCst);
    let busy = gateway.graphql(r#"{ search(query: "volcano") { totalCount } }"#, json!({}), None).await;
    assert_eq!(busy["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{busy:#}");
    backend.unhealthy.store(true, Ordering::SeqCst);
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("cannot write"));
}
