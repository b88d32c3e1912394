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

/// Headless Chromium driven over WebDriver, with its own profile (kept while the client lives).
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: ChromeDriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let driver = ChromeDriver::start();
        let profile = tempfile::tempdir().unwrap();
        let client = headless_chromium(&driver, profile.path(), &[]).await;
        Self { client, _driver: driver, _profile: profile }
    }
}

#[tokio::test]
async fn test_teacher_picks_two_resources_in_headless_chromium() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let launch = lms.deep_link(&gateway, json!({})).await;
    let started = Browser::start().await;
    let browser = started.client.clone();

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

/// Waits until `done` holds, for at most 20 s.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > Duration::from_secs(20) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// A Canvas-style launch in a real browser: the LMS's course page frames the gateway beside its
/// storage frame (`lti_storage_target=post_message_forwarding`); the gateway's login stores its
/// proof there, the launch reads it back in the same browser, and the teacher reaches the
/// picker without a cookie.
#[tokio::test]
async fn test_a_launch_is_bound_to_the_browser_through_the_platforms_storage_frame() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let started = Browser::start().await;
    let browser = started.client.clone();

    let course = format!("{}/course?gateway={}", lms.issuer(), url_encoded(&gateway.url("")));
    browser.goto(&course).await.unwrap();
    let stored_and_read = eventually(|| {
        lms.storage_log().iter().any(|entry| entry["op"] == "lti.get_data" && entry["value"].is_string())
    })
    .await;
    let log = lms.storage_log();
    assert!(stored_and_read, "the gateway stored and read back its proof: {log:?}");
    assert_eq!(log[0]["op"], "lti.put_data");
    assert_eq!(log[0]["origin"], gateway.url(""), "kept under the gateway's origin");
    assert_eq!(log[1]["key"], log[0]["key"], "read back under the key it was stored with");

    // The tool frame ends on the picker.
    let frame = browser.find(Locator::Css("iframe#tool")).await.unwrap();
    frame.enter_frame().await.unwrap();
    let search = browser.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("input#q")).await;
    let url = browser.execute("return location.href;", vec![]).await.unwrap();
    let _ = browser.close().await;
    assert!(search.is_ok(), "the picker opened in the tool frame (at {url})");
    assert!(url.as_str().unwrap().starts_with(&gateway.url("/lti/picker?launch=")), "{url}");
}

/// An LMS admin's registration in a real browser: the LMS frames the gateway's registration
/// link; the gateway registers and its page tells the LMS to close the frame.
#[tokio::test]
async fn test_the_registration_page_closes_the_lms_frame() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    let link = gateway
        .graphql_ok("mutation { createPlatformRegistration { url } }", json!({}), Some(crate::common::ADMIN_TOKEN))
        .await["createPlatformRegistration"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Browser::start().await;
    let browser = started.client.clone();
    browser.goto(&format!("{}/tool-registration?link={}", lms.issuer(), url_encoded(&link))).await.unwrap();
    let closed = eventually(|| lms.closed()).await;
    let _ = browser.close().await;
    assert!(closed, "the LMS received org.imsglobal.lti.close from the registration frame");
    assert_eq!(lms.registrations().len(), 1);
}

fn url_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
