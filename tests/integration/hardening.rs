//! What an outsider tried at the edges: oversized request heads answer 431 (and the client reads
//! that answer even while still sending), addresses refused at registration, status codes.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestServer;

/// Sends a request whose one header holds `size` bytes over a raw connection, writing and
/// reading at once as a client does; answers the status line.
async fn status_for_header_of(server: &TestServer, size: usize) -> String {
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n", "a".repeat(size));
    let send = tokio::spawn(async move { writer.write_all(head.as_bytes()).await });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the gateway answered and closed");
    let sent = send.await.unwrap();
    assert!(sent.is_ok(), "the whole request could be sent ({size} bytes): {sent:?}");
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn test_huge_request_headers_answer_431_instead_of_a_closed_connection() {
    let server = TestServer::empty().await;
    let fine = server.client.get(server.url("/healthz")).header("x-some", "a".repeat(8 * 1024)).send().await.unwrap();
    assert_eq!(fine.status(), 200);
    let large = server.client.get(server.url("/healthz")).header("x-big", "a".repeat(100 * 1024)).send().await.unwrap();
    assert_eq!(large.status(), 431);
    let body: serde_json::Value = large.json().await.unwrap();
    assert_eq!(body["error"]["code"], "HEADERS_TOO_LARGE", "{body}");
    for size in [1024 * 1024, 8 * 1024 * 1024] {
        let status = status_for_header_of(&server, size).await;
        assert!(status.starts_with("HTTP/1.1 431"), "{size}: {status}");
    }
    // The gateway keeps serving.
    let after = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(after.status(), 200);
}

#[tokio::test]
async fn test_loopback_names_are_refused_when_a_source_is_registered() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("acme", "Acme").await;
    let add = "mutation($input: CatalogSourceInput!) { addCatalogSource(input: $input) { id } }";
    for url in
        ["http://localhost.:9/catalog.json", "http://LOCALHOST../catalog.json", "https://feeds.localhost/catalog.json"]
    {
        let response = server.graphql(add, json!({ "input": { "url": url, "format": "LRMI" } }), Some(&key)).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{url}: {response}");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains("localhost"), "{url}: {response}");
    }
    let sources = server.graphql_ok(r#"{ publisher(id: "acme") { sources { id } } }"#, json!({}), Some(&key)).await;
    assert_eq!(sources["publisher"]["sources"], json!([]), "nothing was registered");
}

#[tokio::test]
async fn test_an_lms_whose_keys_cannot_be_fetched_gets_503_like_every_unavailable() {
    use crate::lms::{Lms, CLIENT_ID, DEPLOYMENT_ID};
    let gateway = crate::lti::gateway_with_samples().await;
    let lms = Lms::start().await;
    // Registered with a JWKS URL nothing answers on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    gateway
        .graphql_ok(
            "mutation($input: RegisterPlatformInput!) { registerPlatform(input: $input) { id } }",
            json!({ "input": {
                "issuer": lms.issuer(), "clientId": CLIENT_ID, "deploymentIds": [DEPLOYMENT_ID],
                "authLoginUrl": format!("{}/auth", lms.issuer()), "jwksUrl": format!("http://{dead}/jwks") } }),
            Some(crate::common::ADMIN_TOKEN),
        )
        .await;
    let auth = lms.login(&gateway).await;
    let token = lms.key.sign(&lms.deep_linking_claims(&auth, json!({})));
    let (status, _, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("keys"), "the page names the reason: {body}");
}
