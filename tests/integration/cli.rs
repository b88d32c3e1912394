//! The command line: print-schema, publisher add and remove, ingest (and its refusal while serving).

use std::process::Command;

use serde_json::json;

use crate::common::{fixture, TestServer};

fn gateway_command(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resource-gateway"));
    command.env("GATEWAY_DATA_DIR", data_dir).env("GATEWAY_ADMIN_TOKEN", crate::common::ADMIN_TOKEN);
    command
}

#[test]
fn test_print_schema_matches_the_library() {
    let output = Command::new(env!("CARGO_BIN_EXE_resource-gateway")).arg("print-schema").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), resource_gateway::graphql::sdl());
}

#[tokio::test]
async fn test_publisher_add_and_ingest_from_the_command_line() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let added = gateway_command(&data_dir).args(["publisher", "add", "OpenReaders Collective"]).output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let stdout = String::from_utf8(added.stdout).unwrap();
    assert!(stdout.contains("registered publisher 'openreaders-collective'"), "{stdout}");
    let key = stdout.lines().find_map(|l| l.split("keep it safe): ").nth(1)).unwrap().trim().to_string();
    assert!(key.starts_with("rgk_openreaders-collective_"));

    let file = fixture("catalogs/openreaders-lrmi.jsonld");
    let ingested = gateway_command(&data_dir)
        .args(["ingest", "--publisher", "openreaders-collective", "--format", "lrmi"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(ingested.status.success(), "{}", String::from_utf8_lossy(&ingested.stderr));
    let summary = String::from_utf8(ingested.stdout).unwrap();
    assert!(summary.starts_with("SUCCEEDED: 50 added, 0 updated, 0 removed, 0 rejected"), "{summary}");

    let refused = gateway_command(&data_dir)
        .args(["ingest", "--publisher", "openreaders-collective", "--format", "lrmi"])
        .arg(fixture("bad/empty.json"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8(refused.stdout).unwrap().contains("document is empty"));

    // While a gateway serves the folder, the command refuses instead of fighting over the index.
    let server = TestServer::start_with(|config| {
        config.data_dir = data_dir.clone();
        config.load_samples = false;
    })
    .await;
    let busy = gateway_command(&data_dir)
        .args(["ingest", "--publisher", "openreaders-collective", "--format", "lrmi"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!busy.status.success());
    let message = String::from_utf8(busy.stderr).unwrap();
    assert!(message.contains("in use by another process"), "{message}");
    // The key printed by `publisher add` works against the running server.
    let report = server
        .ingest(
            &key,
            "LRMI",
            &std::fs::read_to_string(fixture("catalogs/openreaders-single.jsonld")).unwrap(),
            json!({}),
        )
        .await;
    assert_eq!(report["removed"], 50);
}

#[test]
fn test_publisher_remove_from_the_command_line() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let added = gateway_command(&data_dir).args(["publisher", "add", "OpenReaders"]).output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let ingested = gateway_command(&data_dir)
        .args(["ingest", "--publisher", "openreaders", "--format", "lrmi"])
        .arg(fixture("catalogs/openreaders-lrmi.jsonld"))
        .output()
        .unwrap();
    assert!(ingested.status.success(), "{}", String::from_utf8_lossy(&ingested.stderr));

    let removed = gateway_command(&data_dir).args(["publisher", "remove", "openreaders"]).output().unwrap();
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    let stdout = String::from_utf8(removed.stdout).unwrap();
    assert!(
        stdout.contains("removed publisher 'openreaders': 50 resources, 0 catalog sources, 0 LTI tools"),
        "{stdout}"
    );
    let again = gateway_command(&data_dir).args(["publisher", "remove", "openreaders"]).output().unwrap();
    assert!(!again.status.success());
    let message = String::from_utf8(again.stderr).unwrap();
    assert!(message.contains("no publisher 'openreaders'"), "{message}");
}

#[tokio::test]
async fn test_platform_add_and_key_rotation_from_the_command_line() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let added = gateway_command(&data_dir)
        .args([
            "platform",
            "add",
            "--issuer",
            "https://lms.example.edu",
            "--client-id",
            "c-1",
            "--deployment-id",
            "d-1",
            "--deployment-id",
            "d-2",
            "--auth-url",
            "https://lms.example.edu/auth",
            "--jwks-url",
            "https://lms.example.edu/jwks",
        ])
        .env("GATEWAY_PUBLIC_URL", "https://gateway.example.org")
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let stdout = String::from_utf8(added.stdout).unwrap();
    assert!(stdout.contains("https://gateway.example.org/lti/login"), "prints what to paste into the LMS: {stdout}");
    assert!(stdout.contains("https://gateway.example.org/.well-known/jwks.json"), "{stdout}");
    let refused = gateway_command(&data_dir)
        .args([
            "platform",
            "add",
            "--issuer",
            "https://lms.example.edu",
            "--client-id",
            "c-1",
            "--deployment-id",
            "d-1",
            "--auth-url",
            "http://lms.example.edu/auth",
            "--jwks-url",
            "https://lms.example.edu/jwks",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "plain http refused");

    let server = TestServer::start_with(|config| {
        config.data_dir = data_dir.clone();
        config.load_samples = false;
    })
    .await;
    let platforms = server
        .graphql_ok("{ platforms { clientId deploymentIds } }", json!({}), Some(crate::common::ADMIN_TOKEN))
        .await;
    assert_eq!(platforms["platforms"], json!([{ "clientId": "c-1", "deploymentIds": ["d-1", "d-2"] }]));
    let kids = |jwks: serde_json::Value| -> Vec<String> {
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    };
    let before =
        kids(server.client.get(server.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap());
    assert_eq!(before.len(), 1);
    let rotated = gateway_command(&data_dir).args(["keys", "rotate"]).output().unwrap();
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    // The running gateway publishes the new key (it re-reads the keys every 5 s) and keeps the
    // old one during the grace period.
    let mut after = Vec::new();
    for _ in 0..200 {
        after =
            kids(server.client.get(server.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap());
        if after.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(after.len(), 2);
    assert!(after.contains(&before[0]));
}

#[test]
fn test_tool_add_prints_the_platform_settings() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let added = gateway_command(&data_dir).args(["publisher", "add", "MathWise", "--id", "mathwise"]).output().unwrap();
    assert!(added.status.success());
    let tool = |publisher: &str| {
        gateway_command(&data_dir)
            .env("GATEWAY_PUBLIC_URL", "https://gateway.example.org")
            .args([
                "tool",
                "add",
                "--publisher",
                publisher,
                "--login-url",
                "https://tool.example.com/login",
                "--launch-url",
                "https://tool.example.com/launch",
                "--client-id",
                "gw-1",
                "--deployment-id",
                "1",
                "--jwks-url",
                "https://tool.example.com/jwks",
            ])
            .output()
            .unwrap()
    };
    let output = tool("mathwise");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "issuer: https://gateway.example.org",
        "OIDC authorization URL: https://gateway.example.org/lti/platform/auth",
        "token URL: https://gateway.example.org/lti/platform/token",
        "public keys (JWKS) URL: https://gateway.example.org/.well-known/jwks.json",
    ] {
        assert!(stdout.contains(expected), "{expected} in {stdout}");
    }
    assert!(!tool("nobody").status.success(), "unknown publisher refused");
}
