//! The picker in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `.ci/run`) searches, ticks two resources and inserts; the simulated LMS receives
//! a valid JWT with both items.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::lms::{verify_with_gateway_jwks, Lms};
use crate::lti::gateway_with_samples;

pub(crate) struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    pub(crate) fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_string());
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start {binary} ({err}): install chromium and chromium-driver (see .ci/run)")
            });
        Self { child, port }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium driven through `driver`, with its profile in `profile` and `extra` flags.
pub(crate) async fn headless_chromium(driver: &ChromeDriver, profile: &std::path::Path, extra: &[&str]) -> Client {
    let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1024,768",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .chain(extra)
    .map(|arg| arg.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
    let started = Instant::now();
    loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(connected) => return connected,
            Err(err) if started.elapsed() > Duration::from_secs(20) => panic!("chromedriver answers: {err}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test]
async fn test_teacher_picks_two_resources_in_headless_chromium() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let launch = lms.deep_link(&gateway, json!({})).await;

    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = headless_chromium(&driver, profile.path(), &[]).await;

    browser.goto(&gateway.url(&format!("/lti/picker?launch={launch}"))).await.unwrap();
    let search = browser.find(Locator::Css("input#q")).await.unwrap();
    search.send_keys("fractions").await.unwrap();
    browser.find(Locator::Css(".searchbar button[type=submit]")).await.unwrap().click().await.unwrap();
    browser.wait().for_element(Locator::Css("input[name=resource]")).await.unwrap();
    if let Ok(path) = std::env::var("PICKER_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await.unwrap()).unwrap();
    }
    let boxes = browser.find_all(Locator::Css("input[name=resource]")).await.unwrap();
    assert!(boxes.len() >= 2, "fractions finds several resources");
    let mut chosen = Vec::new();
    for checkbox in boxes.iter().take(2) {
        chosen.push(checkbox.attr("value").await.unwrap().unwrap());
        // As a teacher would: bring the result into the middle of the screen, then tick it.
        browser
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![serde_json::to_value(checkbox).unwrap()])
            .await
            .unwrap();
        checkbox.click().await.unwrap();
    }
    browser.find(Locator::Css("button[value=insert]")).await.unwrap().click().await.unwrap();

    let started = Instant::now();
    while lms.returned().is_empty() && started.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = browser.close().await;
    let returned = lms.returned();
    assert_eq!(returned.len(), 1, "the browser posted the response to the LMS");
    let claims = verify_with_gateway_jwks(&gateway, &returned[0], &lms).await;
    let items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let ids: Vec<String> = items
        .iter()
        .map(|item| {
            item["custom"]["gateway_resource_id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| item["url"].as_str().unwrap().to_string())
        })
        .collect();
    for id in &chosen {
        let record =
            gateway.graphql_ok(&format!(r#"{{ resource(id: "{id}") {{ url kind }} }}"#), json!({}), None).await;
        let matched = ids.contains(id) || ids.iter().any(|i| Some(i.as_str()) == record["resource"]["url"].as_str());
        assert!(matched, "{id} is in the response: {ids:?}");
    }
}
