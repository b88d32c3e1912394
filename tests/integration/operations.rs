//! Health, readiness, metrics, GraphiQL and the schema contract.

use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn test_health_ready_metrics_and_graphiql() {
    let server = TestServer::with_samples().await;
    let health = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = server.client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    server.search(json!({ "query": "fractions" })).await;
    let metrics = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("gateway_indexed_resources 180"), "{metrics}");
    assert!(metrics.contains("gateway_search_seconds_count"), "{metrics}");
    assert!(metrics.contains("gateway_ingests_total{status=\"SUCCEEDED\"} 4"), "{metrics}");
    let graphiql = server.client.get(server.url("/graphql")).send().await.unwrap().text().await.unwrap();
    assert!(graphiql.to_lowercase().contains("graphiql"));
}

#[test]
fn test_schema_file_equals_the_served_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let on_disk = std::fs::read_to_string(&path).expect("schema.graphql at the repository root");
    assert!(
        on_disk == resource_gateway::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- print-schema > schema.graphql`"
    );
}
