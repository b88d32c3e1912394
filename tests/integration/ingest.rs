//! Publishers pushing catalogs: every fixture format, replacement, bad input, restart.

use serde_json::{json, Value};

use crate::common::{fixture_bytes, fixture_text, zip_fixture_folder, TestServer, ADMIN_TOKEN};

fn expected_catalogs() -> Value {
    serde_json::from_str(&fixture_text("catalogs/expected.json")).unwrap()
}

pub async fn publisher_total(server: &TestServer, publisher: &str) -> i64 {
    let found = server.search(json!({ "filter": { "publishers": [publisher] }, "first": 1 })).await;
    found["totalCount"].as_i64().unwrap()
}

#[tokio::test]
async fn test_every_catalog_fixture_ingests_to_its_expected_count() {
    let server = TestServer::empty().await;
    let expected = expected_catalogs();
    let key = server.register_publisher("fixtures", "Fixture Publisher").await;
    for (file, facts) in expected["files"].as_object().unwrap() {
        let format = facts["format"].as_str().unwrap();
        let source = json!({ "source": file.replace('.', "-") });
        let report = if file.ends_with(".imscc") {
            let (status, report) = server
                .upload(
                    Some(&key),
                    "fixtures",
                    &format!("format={format}&source={}", source["source"].as_str().unwrap()),
                    fixture_bytes(&format!("catalogs/{file}")),
                )
                .await;
            assert_eq!(status, 200, "{file}: {report}");
            report
        } else {
            server.ingest(&key, format, &fixture_text(&format!("catalogs/{file}")), source).await
        };
        let wanted = facts["resources"].as_i64().unwrap();
        let accepted = report["added"].as_i64().unwrap() + report["updated"].as_i64().unwrap();
        assert_eq!(accepted, wanted, "{file}: {report}");
        assert_eq!(report["rejected"], 0, "{file}: {report}");
    }
    // mathwise .xml and .imscc share identifiers, so they count once.
    assert_eq!(publisher_total(&server, "fixtures").await, 180);
}

#[tokio::test]
async fn test_real_world_exports_ingest_without_error() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("real", "Real Exports").await;
    // (document, zipped?, linkable resources it holds)
    let cases: Vec<(&str, Vec<u8>, i64)> = vec![
        ("moodle link", fixture_bytes("real/moodle/ims_cartridge_basic_lti_link.xml"), 1),
        ("canvas export", zip_fixture_folder("real/canvas-importer"), 1),
        ("course export", zip_fixture_folder("real/ccv-course-1"), 1),
        ("latex.imscc", fixture_bytes("real/imscc/latex.imscc"), 2),
        // Its wiki page is shown by no organization item: offered as a standalone page (issue 15).
        ("single-page.imscc", fixture_bytes("real/imscc/single-page.imscc"), 1),
        ("canvas_cc_gem_course.imscc", fixture_bytes("real/imscc/canvas_cc_gem_course.imscc"), 0),
        ("canvas manifest alone", fixture_bytes("real/canvas-importer/imsmanifest.xml"), 0),
        ("course manifest alone", fixture_bytes("real/ccv-course-1/imsmanifest.xml"), 0),
    ];
    for (name, body, linkable) in cases {
        let source = name.replace([' ', '.', '_'], "-");
        let (status, report) =
            server.upload(Some(&key), "real", &format!("format=common_cartridge&source={source}"), body).await;
        assert_eq!(status, 200, "{name}: {report}");
        assert_ne!(report["status"], "FAILED", "{name}: {report}");
        assert_eq!(report["added"], linkable, "{name}: {report}");
        if linkable == 0 {
            assert!(!report["diagnostics"].as_array().unwrap().is_empty(), "{name}: says why nothing was indexed");
        }
    }
    let canvas = server.graphql_ok(
        r#"{ search(query: "", filter: { publishers: ["real"], kinds: [LTI_RESOURCE_LINK] }) { edges { node { id lti { custom } } } } }"#,
        json!({}),
        None,
    ).await;
    let with_custom = canvas["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["lti"]["custom"].as_object().is_some_and(|c| c.len() == 8))
        .count();
    assert_eq!(with_custom, 1, "the Canvas link keeps its 8 custom parameters: {canvas}");
}

#[tokio::test]
async fn test_packed_web_content_is_served_from_the_data_folder() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("pages", "Pages").await;
    let (status, report) =
        server.upload(Some(&key), "pages", "format=common_cartridge", fixture_bytes("real/imscc/latex.imscc")).await;
    assert_eq!(status, 200, "{report}");
    let found = server
        .search(json!({ "filter": { "publishers": ["pages"], "kinds": ["HTML", "FILE", "IMAGE"] }, "first": 20 }))
        .await;
    let edges = found["edges"].as_array().unwrap();
    assert!(!edges.is_empty(), "the cartridge's page is a resource: {report}");
    let url = edges[0]["node"]["url"].as_str().unwrap();
    assert!(url.starts_with(&server.url("/content/pages/")), "{url}");
    let response = server.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let policy = response.headers().get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(policy.starts_with("sandbox"), "publisher pages are sandboxed: {policy}");
    assert!(!response.bytes().await.unwrap().is_empty());
    let escape = server.client.get(server.url("/content/pages/..%2F..%2Fregistry.sqlite3")).send().await.unwrap();
    assert_ne!(escape.status(), 200, "no path traversal out of the content folder");
}

#[tokio::test]
async fn test_reingest_replaces_the_set_and_leaves_others_alone() {
    let server = TestServer::empty().await;
    let readers = server.register_publisher("openreaders", "OpenReaders").await;
    let science = server.register_publisher("sciencelab", "ScienceLab").await;
    server
        .ingest(&science, "RESOURCE_SEARCH", &fixture_text("catalogs/sciencelab-resource-search.json"), json!({}))
        .await;
    let first = server.ingest(&readers, "LRMI", &fixture_text("catalogs/openreaders-lrmi.jsonld"), json!({})).await;
    assert_eq!((first["added"].as_i64(), first["status"].as_str()), (Some(50), Some("SUCCEEDED")));
    let again = server.ingest(&readers, "LRMI", &fixture_text("catalogs/openreaders-lrmi.jsonld"), json!({})).await;
    assert_eq!(
        (again["added"].as_i64(), again["updated"].as_i64(), again["removed"].as_i64()),
        (Some(0), Some(50), Some(0))
    );

    let smaller = server.ingest(&readers, "LRMI", &fixture_text("catalogs/openreaders-single.jsonld"), json!({})).await;
    assert_eq!((smaller["added"].as_i64(), smaller["removed"].as_i64()), (Some(1), Some(50)), "{smaller}");
    assert_eq!(publisher_total(&server, "openreaders").await, 1);
    let gone = server.search(json!({ "query": "Gettysburg", "filter": { "publishers": ["openreaders"] } })).await;
    assert_eq!(gone["totalCount"], 0, "what left the catalog left search");
    assert_eq!(publisher_total(&server, "sciencelab").await, 25, "another publisher is untouched");

    // A second source of the same publisher keeps its own set.
    let array = server
        .ingest(&readers, "LRMI", &fixture_text("catalogs/openreaders-lrmi-array.json"), json!({ "source": "array" }))
        .await;
    assert_eq!(array["added"], 5);
    assert_eq!(publisher_total(&server, "openreaders").await, 6);
}

#[tokio::test]
async fn test_oai_pages_merge_and_deleted_records_are_removed() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("histarchive", "HistArchive").await;
    let page1 =
        server.ingest(&key, "OAI_PMH", &fixture_text("catalogs/histarchive-oai-lom-page1.xml"), json!({})).await;
    assert_eq!(page1["added"], 15);
    let page2 =
        server.ingest(&key, "OAI_PMH", &fixture_text("catalogs/histarchive-oai-lom-page2.xml"), json!({})).await;
    assert_eq!(page2["added"], 14, "{page2}");
    assert_eq!(publisher_total(&server, "histarchive").await, 29);

    let deleting = r#"<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2024-03-01T00:00:00Z</responseDate>
  <request verb="ListRecords">https://collections.histarchive.example.net/oai</request>
  <ListRecords>
    <record><header status="deleted"><identifier>oai:histarchive.example.net:ha-1001</identifier><datestamp>2024-03-01</datestamp></header></record>
  </ListRecords>
</OAI-PMH>"#;
    let report = server.ingest(&key, "OAI_PMH", deleting, json!({})).await;
    assert_eq!(report["removed"], 1, "{report}");
    assert_eq!(publisher_total(&server, "histarchive").await, 28);
}

#[tokio::test]
async fn test_bad_inputs_report_the_problem_and_lose_nothing() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("victim", "Victim").await;
    let good = server.ingest(&key, "COMMON_CARTRIDGE", &fixture_text("catalogs/mathwise-thin-cc.xml"), json!({})).await;
    assert_eq!(good["added"], 42);
    let good_rs = server
        .ingest(&key, "RESOURCE_SEARCH", &fixture_text("catalogs/sciencelab-resource-search.json"), json!({}))
        .await;
    assert_eq!(good_rs["added"], 25);
    let good_lrmi = server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi-array.json"), json!({})).await;
    assert_eq!(good_lrmi["added"], 5);
    let good_oai = server.ingest(&key, "OAI_PMH", &fixture_text("catalogs/histarchive-oai-dc.xml"), json!({})).await;
    assert_eq!(good_oai["added"], 5);
    let before = publisher_total(&server, "victim").await;
    assert_eq!(before, 77);

    let bad: Value = serde_json::from_str(&fixture_text("bad/expected.json")).unwrap();
    for (file, facts) in bad["files"].as_object().unwrap() {
        let format = facts["format"].as_str().unwrap().split(' ').next().unwrap();
        let body = fixture_bytes(&format!("bad/{file}"));
        // A separate source, so a partial document does not replace the good catalogs.
        let query = format!("format={}&source=bad-{}", format.to_lowercase(), file.replace('.', "-"));
        let (status, report) = server.upload(Some(&key), "victim", &query, body).await;
        let hint_word = facts["error_hint"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let messages = report["diagnostics"].to_string().to_lowercase();
        match facts["expect"].as_str().unwrap() {
            "reject" => {
                assert_eq!(status, 422, "{file}: {report}");
                assert_eq!(report["status"], "FAILED", "{file}");
                assert_eq!(report["added"], 0, "{file}");
                assert!(
                    messages.contains(&hint_word),
                    "{file}: diagnostics should say '{}': {messages}",
                    facts["error_hint"]
                );
            }
            _ => {
                assert_eq!(status, 200, "{file}: {report}");
                assert_eq!(report["status"], "PARTIAL", "{file}");
                let accepted = report["added"].as_i64().unwrap() + report["updated"].as_i64().unwrap();
                assert_eq!(accepted, facts["accepted"].as_i64().unwrap(), "{file}: {report}");
                assert_eq!(report["rejected"], facts["rejected"], "{file}: {report}");
                for rejected in facts["rejected_ids"].as_array().unwrap() {
                    assert!(
                        messages.contains(&rejected.as_str().unwrap().to_lowercase()),
                        "{file}: names {rejected}: {messages}"
                    );
                }
            }
        }
        let now = publisher_total(&server, "victim").await;
        assert!(now >= before, "{file} removed resources: {now} < {before}");
    }
    // A refused document sent to a populated source leaves that source's set searchable.
    let truncated =
        server.ingest(&key, "COMMON_CARTRIDGE", &fixture_text("bad/truncated-manifest.xml"), json!({})).await;
    assert_eq!(truncated["status"], "FAILED");
    let message = truncated["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("line"), "names the line: {message}");
    let mathwise = server.search(json!({ "query": "fraction strips", "filter": { "publishers": ["victim"] } })).await;
    assert!(mathwise["totalCount"].as_i64().unwrap() > 0, "previous catalog still searchable");
}

#[tokio::test]
async fn test_data_survives_a_restart() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("keeper", "Keeper").await;
    server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi.jsonld"), json!({})).await;
    let server = server.restart().await;
    assert_eq!(publisher_total(&server, "keeper").await, 50);
    let publishers = server.graphql_ok("{ publishers { id name resourceCount } }", json!({}), None).await;
    assert_eq!(publishers["publishers"], json!([{ "id": "keeper", "name": "Keeper", "resourceCount": 50 }]));
    // The key still works after the restart, and the history was kept.
    let again = server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-single.jsonld"), json!({})).await;
    assert_eq!(again["removed"], 50);
    let history = server
        .graphql_ok(r#"{ publisher(id: "keeper") { ingests { status added removed } } }"#, json!({}), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(history["publisher"]["ingests"].as_array().unwrap().len(), 2);
    assert_eq!(history["publisher"]["ingests"][0]["removed"], 50);
}

#[tokio::test]
async fn test_index_is_rebuilt_from_the_catalog_log_after_a_schema_change() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("keeper", "Keeper").await;
    server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi.jsonld"), json!({})).await;
    server.ingest(&key, "OAI_PMH", &fixture_text("catalogs/histarchive-oai-lom-page1.xml"), json!({})).await;
    server.ingest(&key, "OAI_PMH", &fixture_text("catalogs/histarchive-oai-lom-page2.xml"), json!({})).await;
    assert_eq!(publisher_total(&server, "keeper").await, 79);
    // An index written by another schema version is recreated and refilled on start.
    std::fs::write(server.data_dir.join("tantivy/schema-version"), "0").unwrap();
    let server = server.restart().await;
    assert_eq!(publisher_total(&server, "keeper").await, 79);
    let found = server.search(json!({ "query": "Gettysburg" })).await;
    assert!(found["totalCount"].as_i64().unwrap() > 0);
}

const REMOVE_PUBLISHER: &str = "mutation($id: ID!) { removePublisher(id: $id) { id removed sources tools } }";

#[tokio::test]
async fn test_removing_a_publisher_takes_everything_it_had_and_frees_its_id() {
    let mut server = TestServer::federated(500).await;
    let key = server.register_publisher("pages", "Pages").await;
    let other = server.register_publisher("openreaders", "OpenReaders").await;
    let (status, report) =
        server.upload(Some(&key), "pages", "format=common_cartridge", fixture_bytes("real/imscc/latex.imscc")).await;
    assert_eq!(status, 200, "{report}");
    let pushed = server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi-array.json"), json!({})).await;
    assert_eq!(pushed["added"], 5, "{pushed:#}");
    let theirs = server.ingest(&other, "LRMI", &fixture_text("catalogs/openreaders-lrmi.jsonld"), json!({})).await;
    assert_eq!(theirs["added"], 50, "{theirs:#}");
    let tool = server
        .graphql_ok(
            "mutation($input: RegisterPublisherToolInput!) { registerPublisherTool(input: $input) { id } }",
            json!({ "input": { "loginUrl": "http://127.0.0.1:9/login", "launchUrl": "http://127.0.0.1:9/launch",
                               "clientId": "pages-tool", "deploymentId": "d1", "jwksUrl": "http://127.0.0.1:9/jwks" } }),
            Some(&key),
        )
        .await;
    assert!(tool["registerPublisherTool"]["id"].is_string(), "{tool:#}");
    let total = publisher_total(&server, "pages").await;
    assert!(total > 5);
    let page = server
        .search(json!({ "filter": { "publishers": ["pages"], "kinds": ["HTML", "FILE", "IMAGE"] }, "first": 1 }))
        .await;
    let content_url = page["edges"][0]["node"]["url"].as_str().unwrap().to_string();
    assert_eq!(server.client.get(&content_url).send().await.unwrap().status(), 200);

    // Only the admin removes a publisher, not even its own key.
    let own = server.graphql(REMOVE_PUBLISHER, json!({ "id": "pages" }), Some(&key)).await;
    assert_eq!(own["errors"][0]["extensions"]["code"], "FORBIDDEN", "{own:#}");
    let anonymous = server.graphql(REMOVE_PUBLISHER, json!({ "id": "pages" }), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous:#}");

    let removed = server.graphql_ok(REMOVE_PUBLISHER, json!({ "id": "pages" }), Some(ADMIN_TOKEN)).await;
    assert_eq!(removed["removePublisher"], json!({ "id": "pages", "removed": total, "sources": 0, "tools": 1 }));
    assert_eq!(publisher_total(&server, "pages").await, 0);
    assert_eq!(server.client.get(&content_url).send().await.unwrap().status(), 404);
    let gone = server.graphql(r#"{ publisher(id: "pages") { id } }"#, json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(gone["data"]["publisher"], Value::Null, "{gone:#}");
    let old_key = server
        .graphql("mutation { ingestCatalog(format: LRMI, document: \"[]\") { added } }", json!({}), Some(&key))
        .await;
    assert_eq!(old_key["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{old_key:#}");
    let again = server.graphql(REMOVE_PUBLISHER, json!({ "id": "pages" }), Some(ADMIN_TOKEN)).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "NOT_FOUND", "{again:#}");
    assert_eq!(publisher_total(&server, "openreaders").await, 50, "another publisher keeps everything");

    // The id starts afresh. Nothing comes back even when the index is rebuilt from the catalog
    // log (a deleted index folder): the removal superseded the publisher's entries.
    let new_key = server.register_publisher("pages", "Pages again").await;
    assert_ne!(new_key, key);
    server.stop().await;
    std::fs::remove_dir_all(server.data_dir.join("tantivy")).unwrap();
    server = server.restart().await;
    assert_eq!(publisher_total(&server, "pages").await, 0);
    assert_eq!(publisher_total(&server, "openreaders").await, 50);
}

#[tokio::test]
async fn test_removing_a_cartridge_source_takes_its_web_content() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("pages", "Pages").await;
    let cartridge = fixture_bytes("real/imscc/latex.imscc");
    let (status, report) = server.upload(Some(&key), "pages", "format=common_cartridge&source=latex", cartridge).await;
    assert_eq!(status, 200, "{report}");
    let found = server
        .search(json!({ "filter": { "publishers": ["pages"], "kinds": ["HTML", "FILE", "IMAGE"] }, "first": 1 }))
        .await;
    let url = found["edges"][0]["node"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&server.url("/content/pages/latex/")), "one folder per source: {url}");
    assert_eq!(server.client.get(&url).send().await.unwrap().status(), 200);
    let removed = server
        .graphql_ok("mutation { removeCatalogSource(sourceId: \"latex\") { feed removed } }", json!({}), Some(&key))
        .await;
    assert_eq!(removed["removeCatalogSource"]["feed"], false);
    assert!(removed["removeCatalogSource"]["removed"].as_i64().unwrap() > 0);
    assert_eq!(server.client.get(&url).send().await.unwrap().status(), 404, "the page went with its source");
}

#[tokio::test]
async fn test_a_data_folder_from_before_the_catalog_log_keeps_its_catalogs() {
    let mut server = TestServer::empty().await;
    server.register_publisher("keeper", "Keeper").await;
    server.stop().await;
    // The layout earlier versions archived accepted documents in, and an index to rebuild.
    let archive = server.data_dir.join("catalogs/keeper/push-lrmi");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::write(archive.join("00000001.replace.lrmi"), fixture_bytes("catalogs/openreaders-lrmi.jsonld")).unwrap();
    std::fs::remove_dir_all(server.data_dir.join("tantivy")).unwrap();
    let server = server.restart().await;
    assert_eq!(publisher_total(&server, "keeper").await, 50);
    assert!(!server.data_dir.join("catalogs").exists(), "moved aside once imported");
    let kept = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .filter_map(Result::ok)
        .any(|entry| entry.file_name().to_string_lossy().starts_with("catalogs.imported-"));
    assert!(kept, "the old archive is kept as it was");
    // And from now on the catalog log has it: a fresh index is rebuilt from there.
    let mut server = server;
    server.stop().await;
    std::fs::remove_dir_all(server.data_dir.join("tantivy")).unwrap();
    let server = server.restart().await;
    assert_eq!(publisher_total(&server, "keeper").await, 50);
}

/// Copies a folder (the index) as it is on disk.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Exactly the state a crash leaves between the removal's registry commit and the index's
/// commit: the registry has forgotten the publisher, the index still holds its resources
/// (made by putting back the index folder from before the removal). Starting again finishes
/// the removal instead of leaving the resources searchable under a publisher nobody lists.
#[tokio::test]
async fn test_a_removal_the_index_never_applied_is_finished_at_start() {
    let mut server = TestServer::empty().await;
    let key = server.register_publisher("victim", "Victim").await;
    let other = server.register_publisher("keeper", "Keeper").await;
    let pushed = server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi.jsonld"), json!({})).await;
    assert_eq!(pushed["added"], 50, "{pushed:#}");
    let kept =
        server.ingest(&other, "OAI_PMH", &fixture_text("catalogs/histarchive-oai-lom-page1.xml"), json!({})).await;
    let keeper_total = publisher_total(&server, "keeper").await;
    assert!(keeper_total > 0, "{kept:#}");

    server.stop().await;
    let before = tempfile::tempdir().unwrap();
    copy_folder(&server.data_dir.join("tantivy"), before.path());
    server = server.restart().await;
    let removed = server.graphql_ok(REMOVE_PUBLISHER, json!({ "id": "victim" }), Some(ADMIN_TOKEN)).await;
    assert_eq!(removed["removePublisher"]["removed"], 50, "{removed:#}");
    server.stop().await;
    std::fs::remove_dir_all(server.data_dir.join("tantivy")).unwrap();
    copy_folder(before.path(), &server.data_dir.join("tantivy"));

    let server = server.restart().await;
    assert_eq!(publisher_total(&server, "victim").await, 0, "the removal was finished at start");
    assert_eq!(server.search(json!({ "query": "honeybees" })).await["totalCount"], 0);
    assert_eq!(publisher_total(&server, "keeper").await, keeper_total, "another publisher keeps everything");
    let publishers = server.graphql_ok("{ publishers { id } }", json!({}), None).await;
    assert_eq!(publishers["publishers"], json!([{ "id": "keeper" }]));
    let again = server.graphql(REMOVE_PUBLISHER, json!({ "id": "victim" }), Some(ADMIN_TOKEN)).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "NOT_FOUND", "nothing was left: {again:#}");
}

/// An LRMI catalog of `count` resources, each with the word `marker` in its title.
pub fn generated_lrmi(count: usize, marker: &str) -> Vec<u8> {
    let items: Vec<Value> = (0..count)
        .map(|n| {
            json!({
                "@context": "http://schema.org", "@type": "LearningResource", "identifier": format!("GEN-{n}"),
                "name": format!("{marker} worksheet {n}"), "description": format!("Practice set number {n} on fractions."),
                "url": format!("https://victim.example.org/r/{n}"), "inLanguage": "en", "educationalLevel": "Grade 4",
                "license": "https://creativecommons.org/licenses/by/4.0/"
            })
        })
        .collect();
    serde_json::to_vec(&items).unwrap()
}

/// The real binary killed (SIGKILL) while it removes a big publisher, as soon as the registry
/// has forgotten it; started again on the same data folder, none of its resources is left.
#[tokio::test]
async fn test_a_gateway_killed_during_remove_publisher_finishes_the_removal_when_it_starts_again() {
    killed_during_remove_publisher(None).await;
}

/// [`test_a_gateway_killed_during_remove_publisher_finishes_the_removal_when_it_starts_again`]
/// on the data folder's SQLite, or with the registry on `database`.
pub async fn killed_during_remove_publisher(database: Option<&str>) {
    use crate::cluster::Replica;
    const REMOVE_ANY: &str = "mutation($id: ID!) { removePublisher(id: $id) { removed } }";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut gateway = Replica::start_on(&data, database, "http://127.0.0.1:9", &[]).await;
    let server = TestServer::remote(gateway.addr).await;
    let key = server.register_publisher("victim", "Victim").await;
    let (status, report) =
        server.upload(Some(&key), "victim", "format=lrmi", generated_lrmi(10_000, "zanzibarite")).await;
    assert_eq!((status, report["added"].as_i64()), (200, Some(10_000)), "{report}");
    let samples = publisher_total(&server, "mathwise").await;
    assert!(samples > 0, "the bundled samples are there");

    let removing = {
        let client = server.client.clone();
        let url = server.url("/graphql");
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({ "query": REMOVE_ANY, "variables": { "id": "victim" } }))
                .send()
                .await
        })
    };
    // Kill the moment the registry's commit is visible, before the index has caught up.
    loop {
        let listed = server.graphql(r#"{ publisher(id: "victim") { id } }"#, json!({}), Some(ADMIN_TOKEN)).await;
        if listed["data"]["publisher"].is_null() || removing.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let answered = removing.is_finished();
    gateway.kill().await;
    if answered {
        eprintln!("note: the removal had already answered when the gateway was killed");
    }
    drop(server);

    let gateway = Replica::start_on(&data, database, "http://127.0.0.1:9", &[]).await;
    let server = TestServer::remote(gateway.addr).await;
    assert_eq!(publisher_total(&server, "victim").await, 0, "{}", gateway.logs());
    assert_eq!(server.search(json!({ "query": "zanzibarite" })).await["totalCount"], 0);
    let listed = server.graphql_ok(r#"{ publisher(id: "victim") { id } }"#, json!({}), Some(ADMIN_TOKEN)).await;
    assert!(listed["publisher"].is_null(), "{listed:#}");
    assert_eq!(publisher_total(&server, "mathwise").await, samples, "the samples keep everything");
}
