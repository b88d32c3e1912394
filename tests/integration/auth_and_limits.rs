//! Credentials, rights, body caps and GraphQL cost limits.

use serde_json::json;

use crate::common::{fixture_text, TestServer, ADMIN_TOKEN};

#[tokio::test]
async fn test_credentials_and_rights() {
    let server = TestServer::empty().await;
    let register = "mutation { registerPublisher(input: { name: \"Acme Learning\" }) { apiKey publisher { id } } }";
    let anonymous = server.graphql(register, json!({}), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let wrong = server.graphql(register, json!({}), Some("not-a-token")).await;
    assert_eq!(wrong["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let forged = server.graphql(register, json!({}), Some("rgk_acme-learning_forged")).await;
    assert_eq!(forged["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let acme = server.graphql_ok(register, json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(acme["registerPublisher"]["publisher"]["id"], "acme-learning", "id derived from the name");
    let acme_key = acme["registerPublisher"]["apiKey"].as_str().unwrap().to_string();
    let other_key = server.register_publisher("other", "Other").await;
    let duplicate = server.graphql(register, json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(duplicate["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let as_publisher = server.graphql(register, json!({}), Some(&acme_key)).await;
    assert_eq!(as_publisher["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let document = fixture_text("catalogs/openreaders-single.jsonld");
    let ingest = "mutation($doc: String!, $publisher: ID) { ingestCatalog(format: LRMI, document: $doc, publisher: $publisher) { added } }";
    let foreign =
        server.graphql(ingest, json!({ "doc": document, "publisher": "acme-learning" }), Some(&other_key)).await;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let own = server.graphql_ok(ingest, json!({ "doc": document }), Some(&acme_key)).await;
    assert_eq!(own["ingestCatalog"]["added"], 1);
    let nobody = server.graphql(ingest, json!({ "doc": document, "publisher": "acme-learning" }), None).await;
    assert_eq!(nobody["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let as_admin = server.graphql_ok(ingest, json!({ "doc": document, "publisher": "other" }), Some(ADMIN_TOKEN)).await;
    assert_eq!(as_admin["ingestCatalog"]["added"], 1);

    let (status, _) =
        server.upload(Some(&other_key), "acme-learning", "format=lrmi", document.clone().into_bytes()).await;
    assert_eq!(status, 403);
    let (status, _) = server.upload(None, "acme-learning", "format=lrmi", document.clone().into_bytes()).await;
    assert_eq!(status, 401);
    let (status, body) = server.upload(Some(&acme_key), "acme-learning", "format=pdf", document.into_bytes()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("BAD_USER_INPUT")));

    let history = server
        .graphql(r#"{ publisher(id: "acme-learning") { ingests { added } } }"#, json!({}), Some(&other_key))
        .await;
    assert_eq!(history["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn test_oversized_bodies_are_refused_with_413() {
    let server = TestServer::start_with(|config| {
        config.load_samples = false;
        config.max_graphql_bytes = 64 * 1024;
        config.max_upload_bytes = 128 * 1024;
    })
    .await;
    let key = server.register_publisher("big", "Big").await;
    let huge = "x".repeat(100 * 1024);
    let response = server
        .client
        .post(server.url("/graphql"))
        .bearer_auth(&key)
        .json(&json!({ "query": "mutation($d: String!) { ingestCatalog(format: LRMI, document: $d) { added } }", "variables": { "d": huge } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");

    let (status, report) = server.upload(Some(&key), "big", "format=lrmi", vec![b' '; 200 * 1024]).await;
    assert_eq!(status, 413);
    let message = report["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("bytes") && message.contains("GATEWAY_MAX_UPLOAD_BYTES"), "{report}");
    let (status, report) = server
        .upload(Some(&key), "big", "format=lrmi", fixture_text("catalogs/openreaders-single.jsonld").into_bytes())
        .await;
    assert_eq!((status, report["added"].as_i64()), (200, Some(1)), "under the cap is fine");
}

#[tokio::test]
async fn test_anonymous_callers_get_a_smaller_body_cap() {
    let server = TestServer::start_with(|config| {
        config.load_samples = false;
        config.max_upload_bytes = 64 * 1024;
    })
    .await;
    let padding = " ".repeat(100 * 1024);
    let query = format!("{{ search(first: 1) {{ totalCount }} {padding}}}");
    let post = |token: Option<&'static str>| {
        let mut request = server.client.post(server.url("/graphql")).json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let anonymous = post(None).await.unwrap();
    assert_eq!(anonymous.status(), 413);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("65536 bytes"), "{body}");
    let admin = post(Some(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(admin.status(), 200, "a key or the admin token gets the full cap");
    let body: serde_json::Value = admin.json().await.unwrap();
    assert_eq!(body["data"]["search"]["totalCount"], 0, "{body}");
    // An upload without a key is refused before its body is read: 401, not the 413 that
    // reading a body over the upload cap would give.
    let (status, _) = server.upload(None, "nobody", "format=lrmi", vec![b' '; 1024 * 1024]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn test_hostile_graphql_queries_are_limited() {
    let server = TestServer::empty().await;
    let of_types = "ofType { ".repeat(14) + "name" + &" }".repeat(14);
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {of_types} }} }} }} }} }}");
    let response = server.graphql(&deep, json!({}), None).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{response}");
    let many: String = (0..60)
        .map(|n| format!("s{n}: search(first: 100) {{ edges {{ node {{ id title description }} }} }} "))
        .collect();
    let costly = server.graphql(&format!("{{ {many} }}"), json!({}), None).await;
    assert_eq!(costly["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{costly}");

    let too_many = server.graphql("{ search(first: 1000) { totalCount } }", json!({}), None).await;
    assert_eq!(too_many["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let subjects: Vec<String> = (0..51).map(|n| format!("subject {n}")).collect();
    let wide = server
        .graphql(
            "query($s: [String!]) { search(filter: { subjects: $s }) { totalCount } }",
            json!({ "s": subjects }),
            None,
        )
        .await;
    assert_eq!(wide["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{wide}");
    let bad_cursor = server.graphql("{ search(after: \"nonsense\") { totalCount } }", json!({}), None).await;
    assert_eq!(bad_cursor["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let syntax = server.graphql("{ search(", json!({}), None).await;
    assert_eq!(syntax["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let not_json = server.client.post(server.url("/graphql")).body("{nope").send().await.unwrap();
    assert_eq!(not_json.status(), 400);
    let batch: Vec<serde_json::Value> = (0..20).map(|_| json!({ "query": "{ publishers { id } }" })).collect();
    let big_batch = server.client.post(server.url("/graphql")).json(&batch).send().await.unwrap();
    let body: serde_json::Value = big_batch.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
}
