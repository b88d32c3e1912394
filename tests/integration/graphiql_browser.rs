//! GraphiQL as a developer opens it: `/graphql` in headless Chromium that can resolve no host
//! (only 127.0.0.1 is reachable), the docs explorer built from the gateway's introspection.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;

use crate::common::TestServer;
use crate::picker_browser::{headless_chromium, ChromeDriver};

#[tokio::test]
async fn test_graphiql_loads_from_the_gateway_alone_and_opens_its_docs_explorer() {
    let server = TestServer::empty().await;
    let page = server.client.get(server.url("/graphql")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "no outside URL on the page: {html}");
    for asset in ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "LICENSE-graphiql"] {
        let response = server.client.get(server.url(&format!("/graphql/assets/{asset}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
    }
    let missing = server.client.get(server.url("/graphql/assets/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    // Every host name fails to resolve: a CDN the page tried to reach would fail to load.
    let browser =
        headless_chromium(&driver, profile.path(), &["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]).await;
    browser.goto(&server.url("/graphql")).await.unwrap();
    let docs = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("button[aria-label='Show Documentation Explorer']"))
        .await
        .expect("GraphiQL rendered");
    docs.click().await.unwrap();
    // The explorer lists the root types once introspection has answered.
    let root = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath("//*[contains(@class,'graphiql-doc-explorer')]//a[normalize-space()='QueryRoot']"))
        .await
        .expect("the docs explorer shows the query root");
    root.click().await.unwrap();
    let started = Instant::now();
    let mut text = String::new();
    while started.elapsed() < Duration::from_secs(20) {
        text = browser.find(Locator::Css(".graphiql-doc-explorer")).await.unwrap().text().await.unwrap();
        if text.contains("search") && text.contains("contentItems") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Ok(path) = std::env::var("GRAPHIQL_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await.unwrap()).unwrap();
    }
    assert!(text.contains("search") && text.contains("contentItems"), "the explorer shows QueryRoot's fields: {text}");
    let loaded =
        browser.execute("return performance.getEntriesByType('resource').map(e => e.name);", vec![]).await.unwrap();
    let _ = browser.close().await;
    let loaded: Vec<String> = loaded.as_array().unwrap().iter().filter_map(Value::as_str).map(str::to_string).collect();
    assert!(loaded.iter().any(|url| url.ends_with("/graphql/assets/graphiql.min.js")), "{loaded:?}");
    let origin = server.url("/");
    assert!(loaded.iter().all(|url| url.starts_with(&origin) || url.starts_with("data:")), "{loaded:?}");
}
