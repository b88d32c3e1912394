//! Catalogs as publishers really write them, pushed over HTTP: AMB records, LRMI on
//! CreativeWorks and in pages, CC 1.4, LMS exports, repository OAI-PMH; and the ingest rules
//! that protect what is already indexed (nothing indexable, OAI deletions, empty source
//! names, hostile documents).

use serde_json::{json, Value};

use crate::common::{fixture_text, own_fixture_bytes, zip_own_fixture_folder, TestServer, ADMIN_TOKEN};

fn text(relative: &str) -> String {
    String::from_utf8(own_fixture_bytes(relative)).expect("UTF-8 fixture")
}

async fn total(server: &TestServer, publisher: &str) -> i64 {
    let found = server.search(json!({ "filter": { "publishers": [publisher] }, "first": 1 })).await;
    found["totalCount"].as_i64().unwrap()
}

const RESOURCE: &str = "query($id: ID!) { resource(id: $id) {
    id title url kind subjects subjectsRaw resourceTypes resourceTypesRaw languages gradeMin gradeMax
    license licenseRaw free format sourceId alignments { code guid uri }
    lti { launchUrl lineItem { scoreMaximum label resourceId tag } } } }";

async fn resource(server: &TestServer, id: &str) -> Value {
    server.graphql_ok(RESOURCE, json!({ "id": id }), None).await["resource"].clone()
}

#[tokio::test]
async fn test_publishers_real_shapes_ingest_over_http() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("wild", "Catalogs in the Wild").await;

    // AMB records, one per line, one of them broken: the rest are indexed, the broken one named.
    let amb = server.ingest(&key, "LRMI", &text("amb/oersi-records.jsonl"), json!({ "source": "amb" })).await;
    assert_eq!(
        (amb["status"].as_str(), amb["added"].as_i64(), amb["rejected"].as_i64()),
        (Some("PARTIAL"), Some(6), Some(1)),
        "{amb}"
    );
    assert!(amb["diagnostics"].as_array().unwrap().iter().any(|d| d["item"] == "line 3"), "{amb}");
    let video = resource(&server, "wild:https://oer.example.org/bruchrechnung").await;
    assert_eq!(video["subjects"], json!(["Mathematik", "Mathematics"]));
    assert_eq!(video["subjectsRaw"], json!(["http://w3id.org/kim/schulfaecher/s1017"]));
    assert_eq!(video["resourceTypes"], json!(["video"]));
    assert_eq!(video["license"], "https://creativecommons.org/licenses/by-sa/4.0/");
    assert_eq!((video["gradeMin"].as_i64(), video["gradeMax"].as_i64()), (Some(5), Some(10)));
    let math = server.search(json!({ "filter": { "publishers": ["wild"], "subjects": ["Mathematics"] } })).await;
    assert_eq!(math["totalCount"], 1, "a KIM subject is found under the gateway's name: {math}");
    let part = resource(&server, "wild:https://oer.example.org/operating-systems/memory").await;
    assert_eq!(part["license"], "https://creativecommons.org/licenses/by/4.0/", "a part inherits its course's licence");

    // JSON-LD in a web page, pushed as LRMI and as a SITEMAP page: the same resource.
    let page = own_fixture_bytes("html/lesson-page.html");
    let (status, as_lrmi) = server.upload(Some(&key), "wild", "format=lrmi&source=page", page.clone()).await;
    assert_eq!((status, as_lrmi["added"].as_i64()), (200, Some(1)), "{as_lrmi}");
    let (status, as_page) = server.upload(Some(&key), "wild", "format=sitemap&source=page", page).await;
    assert_eq!((status, as_page["updated"].as_i64()), (200, Some(1)), "{as_page}");
    let lesson = resource(&server, "wild:https://oer.example.org/lessons/photosynthese#resource").await;
    assert_eq!(lesson["format"], "SITEMAP");
    assert_eq!(lesson["subjects"], json!(["Biologie", "Biology"]));
    let (status, no_json_ld) = server
        .upload(Some(&key), "wild", "format=lrmi&source=page", own_fixture_bytes("html/page-without-json-ld.html"))
        .await;
    assert_eq!((status, no_json_ld["status"].as_str()), (422, Some("FAILED")), "{no_json_ld}");
    assert_eq!(total(&server, "wild").await, 7, "a refused page changes nothing");

    // Common Cartridge 1.4 (K-12 Thin): CASE alignments and an AGS line item.
    let cc = server
        .ingest(&key, "COMMON_CARTRIDGE", &text("cartridge/cc14-k12-thin.xml"), json!({ "source": "cc14" }))
        .await;
    assert_eq!((cc["status"].as_str(), cc["added"].as_i64()), (Some("SUCCEEDED"), Some(3)), "{cc}");
    let quiz = resource(&server, "wild:ES-QUIZ").await;
    assert_eq!(
        quiz["lti"]["lineItem"],
        json!({ "scoreMaximum": 20.0, "label": "Plate tectonics check-in", "resourceId": "plates-1", "tag": "quiz" })
    );
    assert_eq!(quiz["alignments"][0]["guid"], "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f");
    let items = server.graphql_ok("{ contentItems(resourceIds: [\"wild:ES-QUIZ\"]) }", json!({}), None).await;
    assert_eq!(items["contentItems"][0]["lineItem"]["tag"], "quiz", "{items}");

    // An LMS export: the page an item shows and the page and document no item shows.
    let (status, export) = server
        .upload(
            Some(&key),
            "wild",
            "format=common_cartridge&source=export",
            zip_own_fixture_folder("cartridge/lms-export"),
        )
        .await;
    assert_eq!((status, export["added"].as_i64()), (200, Some(3)), "{export}");
    let named = |id: &str| export["diagnostics"].as_array().unwrap().iter().any(|d| d["item"] == id);
    assert!(named("g-diagram") && named("g-style") && named("g-field-trip"), "{export}");
    let trip = resource(&server, "wild:g-field-trip").await;
    assert_eq!(trip["kind"], "HTML");
    assert!(trip["url"].as_str().unwrap().starts_with(&server.url("/content/wild/export/")), "{trip}");
    assert_eq!(server.client.get(trip["url"].as_str().unwrap()).send().await.unwrap().status(), 200);
    let welcome = resource(&server, "wild:g-welcome").await;
    assert_eq!(welcome["license"], Value::Null, "a copyright statement is no licence");
    assert_eq!(welcome["licenseRaw"], "Private (Copyrighted) - http://en.wikipedia.org/wiki/Copyright");

    // Repository OAI-PMH with info:eu-repo and COAR terms.
    let oai = server.ingest(&key, "OAI_PMH", &text("oai/dspace-page1.xml"), json!({ "source": "repo" })).await;
    assert_eq!(oai["added"], 2, "{oai}");
    let notes = resource(&server, "wild:oai:repository.example.edu:123456789/101").await;
    assert_eq!((notes["resourceTypes"].clone(), notes["free"].clone()), (json!(["lecture"]), json!(true)));
}

#[tokio::test]
async fn test_a_document_with_nothing_indexable_changes_nothing() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("readers", "Readers").await;
    let good = server.ingest(&key, "LRMI", &fixture_text("catalogs/openreaders-lrmi-array.json"), json!({})).await;
    assert_eq!(good["added"], 5);
    let report = server.ingest(&key, "LRMI", &text("lrmi/no-learning-resources.jsonld"), json!({})).await;
    assert_eq!((report["status"].as_str(), report["removed"].as_i64()), (Some("FAILED"), Some(0)), "{report}");
    let diagnostics = report["diagnostics"].as_array().unwrap();
    let per_item: Vec<&Value> = diagnostics.iter().filter(|d| !d["item"].is_null()).collect();
    assert_eq!(per_item.len(), 3, "each skipped node says why: {report}");
    assert!(per_item.iter().any(|d| d["message"].as_str().unwrap().contains("WebPage without LRMI properties")));
    assert_eq!(total(&server, "readers").await, 5, "the source keeps its catalog");
}

#[tokio::test]
async fn test_oai_deletions_touch_only_their_source_and_count_once() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("repo", "Repository").await;
    let first = server.ingest(&key, "OAI_PMH", &text("oai/dspace-page1.xml"), json!({ "source": "oai" })).await;
    assert_eq!(first["added"], 2);
    let other = json!({ "@type": "LearningResource", "identifier": "oai:other.example.org:1",
                        "name": "Pushed elsewhere", "url": "https://other.example.org/1" });
    let pushed = server.ingest(&key, "LRMI", &other.to_string(), json!({ "source": "other" })).await;
    assert_eq!(pushed["added"], 1);
    // 100 deleted headers name the other source's resource; two name this source's record 102.
    let deletions =
        server.ingest(&key, "OAI_PMH", &text("oai/dspace-page2-deletions.xml"), json!({ "source": "oai" })).await;
    assert_eq!(
        (deletions["removed"].as_i64(), deletions["status"].as_str()),
        (Some(1), Some("SUCCEEDED")),
        "{deletions}"
    );
    assert_eq!(total(&server, "repo").await, 2);
    let kept = server.graphql_ok(RESOURCE, json!({ "id": "repo:oai:other.example.org:1" }), None).await;
    assert_eq!(kept["resource"]["title"], "Pushed elsewhere", "another source's resource stays");
    let gone =
        server.graphql_ok(RESOURCE, json!({ "id": "repo:oai:repository.example.edu:123456789/102" }), None).await;
    assert_eq!(gone["resource"], Value::Null);
}

#[tokio::test]
async fn test_an_empty_source_name_is_refused() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("mathwise", "MathWise").await;
    let first =
        server.ingest(&key, "COMMON_CARTRIDGE", &fixture_text("catalogs/mathwise-thin-cc.xml"), json!({})).await;
    assert_eq!(first["added"], 42);
    let tiny = r#"{"@type": "LearningResource", "identifier": "T", "name": "T", "url": "https://t.example/"}"#;
    let (status, report) =
        server.upload(Some(&key), "mathwise", "format=common_cartridge&source=", tiny.as_bytes().to_vec()).await;
    assert_eq!(status, 400, "{report}");
    assert!(report.to_string().contains("source is empty"), "{report}");
    let response = server
        .graphql(
            "mutation($d: String!) { ingestCatalog(format: LRMI, document: $d, source: \"\") { status } }",
            json!({ "d": tiny }),
            Some(&key),
        )
        .await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{response}");
    assert_eq!(total(&server, "mathwise").await, 42, "the default source was not replaced");
}

#[tokio::test]
async fn test_hostile_documents_are_capped() {
    let server = TestServer::start_with(|config| {
        config.load_samples = false;
        config.catalog_limits.max_title_chars = 80;
    })
    .await;
    let key = server.register_publisher("hostile", "Hostile").await;
    // One element with 100,000 attributes: refused at the attribute cap, nothing changed.
    let attributes: String = (0..100_000).map(|n| format!(" a{n}=\"v\"")).collect();
    let manifest = format!("<manifest identifier=\"M\"{attributes}><resources/></manifest>");
    let (status, report) = server.upload(Some(&key), "hostile", "format=common_cartridge", manifest.into_bytes()).await;
    assert_eq!((status, report["status"].as_str()), (422, Some("FAILED")), "{report}");
    assert!(report.to_string().contains("more than 256 attributes"), "{report}");
    // A 20 MiB title, 5,000 keywords and a 10,000-byte URL.
    let title = "t".repeat(20 * 1024 * 1024);
    let keywords: Vec<String> = (0..5_000).map(|n| format!("k{n}")).collect();
    let document = json!([
        { "@type": "LearningResource", "identifier": "BIG", "name": title, "keywords": keywords, "url": "https://h.example/big" },
        { "@type": "LearningResource", "identifier": "LONG", "name": "Long URL", "url": format!("https://h.example/{}", "p".repeat(10_000)) }
    ]);
    let (status, report) = server.upload(Some(&key), "hostile", "format=lrmi", document.to_string().into_bytes()).await;
    assert_eq!(
        (status, report["added"].as_i64(), report["rejected"].as_i64()),
        (200, Some(1), Some(1)),
        "{}",
        &report.to_string()[..2000.min(report.to_string().len())]
    );
    let big = resource(&server, "hostile:BIG").await;
    assert_eq!(big["title"].as_str().unwrap().chars().count(), 80, "the configured cap");
    let keywords =
        server.graphql_ok("{ resource(id: \"hostile:BIG\") { keywords } }", json!({}), Some(ADMIN_TOKEN)).await;
    assert_eq!(keywords["resource"]["keywords"].as_array().unwrap().len(), 200);
}
