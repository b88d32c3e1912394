//! Each LMS's own deep-linking request (`tests/fixtures/lti/`, origins in its README): signed by
//! the simulated LMS with only iss, aud, deployment, nonce and times replaced, each is accepted
//! and answered as that LMS allows.

use std::io::Write;

use serde_json::{json, Value};

use crate::common::{TestServer, ADMIN_TOKEN};
use crate::lms::{verify_with_gateway_jwks, Lms, CLIENT_ID, DEPLOYMENT_ID};
use crate::lti::gateway_with_samples;

const DL_RESPONSE: &str = "mutation($launch: ID!, $ids: [ID!]!) {
    deepLinkingResponse(launch: $launch, resourceIds: $ids) { jwt returnUrl contentItems } }";
const SETTINGS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";

fn vector(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lti").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Signs an LMS's request for this login and launches it; answers the picker's launch id and
/// the picker page.
async fn launch_vector(gateway: &TestServer, lms: &Lms, name: &str) -> (String, String, Value) {
    let auth = lms.login(gateway).await;
    let mut claims = vector(name);
    let now = chrono::Utc::now().timestamp();
    claims["iss"] = json!(lms.issuer());
    claims["aud"] = json!(CLIENT_ID);
    if claims.get("azp").is_some() {
        claims["azp"] = json!(CLIENT_ID);
    }
    claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = json!(DEPLOYMENT_ID);
    claims["nonce"] = json!(auth.nonce());
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 60);
    if claims.get("nbf").is_some() {
        claims["nbf"] = json!(now);
    }
    let (status, location, body) = lms.post_launch(gateway, &lms.key.sign(&claims), auth.state()).await;
    assert_eq!(status, 303, "{name} is accepted: {body}");
    let location = location.unwrap();
    let launch = url::Url::parse(&format!("http://x{location}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "launch")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let picker = gateway.client.get(gateway.url(&location)).send().await.unwrap().text().await.unwrap();
    (launch, picker, claims)
}

async fn answer(gateway: &TestServer, launch: &str, ids: &[&str]) -> Value {
    gateway.graphql(DL_RESPONSE, json!({ "launch": launch, "ids": ids }), None).await
}

#[tokio::test]
async fn test_canvas_deep_linking_request() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let (launch, picker, claims) = launch_vector(&gateway, &lms, "canvas-deep-linking-request.json").await;
    assert!(picker.contains("type=\"radio\" name=\"resource\""), "accept_multiple false: one choice");

    let two = answer(&gateway, &launch, &["openreaders:OR-A-001", "mathwise:MW-8-004"]).await;
    assert_eq!(two["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let one = answer(&gateway, &launch, &["openreaders:OR-A-001"]).await;
    let response = &one["data"]["deepLinkingResponse"];
    assert_eq!(
        response["returnUrl"], claims[SETTINGS]["deep_link_return_url"],
        "the return URL and its ?data=<JWT> come back byte for byte"
    );
    let item = &response["contentItems"][0];
    assert_eq!(item["type"], "ltiResourceLink", "Canvas accepts only LTI links: the web page goes through the gateway");
    assert_eq!(item["url"], gateway.url("/lti/launch"));
    assert_eq!(item["custom"]["gateway_resource_id"], "openreaders:OR-A-001");
    assert!(item.get("window").is_none(), "iframe is accepted, so no window is asked for");
    let signed = verify_with_gateway_jwks(&gateway, response["jwt"].as_str().unwrap(), &lms).await;
    assert!(signed.get("https://purl.imsglobal.org/spec/lti-dl/claim/data").is_none(), "Canvas sent no data");
}

#[tokio::test]
async fn test_moodle_deep_linking_request() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let (launch, picker, _) = launch_vector(&gateway, &lms, "moodle-deep-linking-request.json").await;
    assert!(picker.contains("type=\"checkbox\" name=\"resource\""), "accept_multiple true");
    // Moodle sends the tool's name as the title: tried as a starting query, it finds nothing, so
    // the first screen shows everything rather than an empty page.
    assert!(picker.contains("<h1>Find learning resources</h1>"), "the picker's own heading");
    assert!(!picker.contains("No resources found"), "a first screen with results");
    for kind in ["Web page", "Interactive tool"] {
        assert!(picker.contains(kind), "every kind is offered, through the gateway: {kind}");
    }
    let both = answer(&gateway, &launch, &["mathwise:MW-8-004", "openreaders:OR-A-001"]).await;
    let items = both["data"]["deepLinkingResponse"]["contentItems"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{both}");
    assert!(items.iter().all(|item| item["type"] == "ltiResourceLink"), "Moodle accepts only ltiResourceLink");
    assert_eq!(items[0]["lineItem"]["scoreMaximum"], 10.0, "a gradable tool gets its grade column");
    assert!(items[1].get("lineItem").is_none(), "a web page never becomes a graded item");
    assert!(items.iter().all(|item| item["text"] != ""), "Moodle's empty text is not copied into items");
}

/// A cartridge with a PDF, an image and a page, as a publisher of packaged content uploads it.
fn packaged_content() -> Vec<u8> {
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="pkg" xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1">
  <metadata><schema>IMS Common Cartridge</schema><schemaversion>1.1.0</schemaversion></metadata>
  <organizations><organization identifier="org" structure="rooted-hierarchy"><item identifier="root">
    <item identifier="i-pdf" identifierref="r-pdf"><title>Fraction worksheet</title></item>
    <item identifier="i-png" identifierref="r-png"><title>Number line poster</title></item>
    <item identifier="i-html" identifierref="r-html"><title>Fraction notes</title></item>
  </item></organization></organizations>
  <resources>
    <resource identifier="r-pdf" type="webcontent" href="web_resources/worksheet.pdf"><file href="web_resources/worksheet.pdf"/></resource>
    <resource identifier="r-png" type="webcontent" href="web_resources/poster.png"><file href="web_resources/poster.png"/></resource>
    <resource identifier="r-html" type="webcontent" href="wiki_content/notes.html"><file href="wiki_content/notes.html"/></resource>
  </resources>
</manifest>"#;
    let files: [(&str, &[u8]); 4] = [
        ("imsmanifest.xml", manifest.as_bytes()),
        ("web_resources/worksheet.pdf", b"%PDF-1.4\n% a worksheet\n"),
        ("web_resources/poster.png", b"\x89PNG\r\n\x1a\n a poster"),
        ("wiki_content/notes.html", b"<html><body><h1>Fraction notes</h1></body></html>"),
    ];
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        for (name, bytes) in files {
            writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
    }
    buffer.into_inner()
}

#[tokio::test]
async fn test_brightspace_deep_linking_request() {
    let gateway = gateway_with_samples().await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let key = gateway.register_publisher("pages", "Pages").await;
    let (status, report) = gateway.upload(Some(&key), "pages", "format=common_cartridge", packaged_content()).await;
    assert_eq!((status, report["added"].as_i64()), (200, Some(3)), "{report}");
    let found = gateway.search(json!({ "filter": { "publishers": ["pages"] }, "first": 10 })).await;
    let id_of = |kind: &str| {
        found["edges"].as_array().unwrap().iter().find(|e| e["node"]["kind"] == kind).unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (pdf, image, page) = (id_of("FILE"), id_of("IMAGE"), id_of("HTML"));

    let (launch, _, claims) = launch_vector(&gateway, &lms, "brightspace-deep-linking-request.json").await;
    // A PDF is a file Brightspace's media types (image/*, text/html) do not accept.
    let refused = answer(&gateway, &launch, &[&pdf]).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("application/pdf"), "{refused}");
    let accepted = answer(&gateway, &launch, &[&image, &page, "openreaders:OR-A-001", "mathwise:MW-8-004"]).await;
    let response = &accepted["data"]["deepLinkingResponse"];
    let types: Vec<&str> =
        response["contentItems"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["image", "html", "link", "ltiResourceLink"], "each in its own type: {accepted}");
    let signed = verify_with_gateway_jwks(&gateway, response["jwt"].as_str().unwrap(), &lms).await;
    assert_eq!(signed["https://purl.imsglobal.org/spec/lti-dl/claim/data"], claims[SETTINGS]["data"]);
    let platforms = gateway.graphql_ok("{ platforms { id } }", json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(platforms["platforms"].as_array().unwrap().len(), 1);
}
