//! Several replicas on one PostgreSQL, each step of a flow on another replica (issue 11): the
//! real binary, a real database, a load balancer with no stickiness.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use serde_json::{json, Value};

use crate::cluster::{database, Balancer, Replica, SECRET_KEY};
use crate::common::{edge_ids, TestServer, ADMIN_TOKEN};
use crate::ingest::publisher_total;
use crate::lms::{form_post, verify_with_gateway_jwks, Lms};

const TIDEPOOLS: &str = r#"{
  "@context": "https://schema.org",
  "@graph": [{
    "@type": "LearningResource",
    "identifier": "LK-1", "name": "Tidepool Ecology Field Guide",
    "description": "Explore the zones of a rocky shore.", "url": "https://lakeside.example.org/r/tidepools",
    "inLanguage": "en", "learningResourceType": "reading"
  }]
}"#;

async fn jwks(replica: &Replica) -> Value {
    reqwest::get(replica.url("/.well-known/jwks.json")).await.unwrap().json().await.unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

async fn sample_ingest_runs(gateway: &TestServer) -> usize {
    let data =
        gateway.graphql_ok("{ publishers { id ingests(first: 50) { id } } }", json!({}), Some(ADMIN_TOKEN)).await;
    data["publishers"].as_array().unwrap().iter().map(|p| p["ingests"].as_array().unwrap().len()).sum()
}

/// Polls `check` every 50 ms for up to `limit`; answers whether it became true.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn finds(gateway: &TestServer, query: &str, id: &str) -> bool {
    let found = gateway.graphql(
        "query($q: String) { search(query: $q, first: 5) { edges { node { id } } } }",
        json!({ "q": query }),
        None,
    );
    let found = found.await;
    found["data"]["search"]["edges"].as_array().is_some_and(|edges| edges.iter().any(|e| e["node"]["id"] == id))
}

#[tokio::test]
async fn test_replicas_behind_a_balancer_share_a_whole_lesson() {
    let Some(db) = database().await else { return };
    let balancer = Balancer::start().await;
    let a = Replica::start(&db, &balancer.url(), &[]).await;
    let mut b = Replica::start(&db, &balancer.url(), &[]).await;
    balancer.set_backends(&[a.addr, b.addr]);
    let gateway = TestServer::remote(balancer.addr).await;
    let direct_a = TestServer::remote(a.addr).await;
    let direct_b = TestServer::remote(b.addr).await;

    // The samples load once per database, and both replicas serve them.
    let runs = sample_ingest_runs(&direct_a).await;
    assert!(runs > 0);
    assert_eq!(sample_ingest_runs(&direct_b).await, runs, "the second replica did not load them again");
    let total_a = direct_a.search(json!({})).await["totalCount"].clone();
    assert_eq!(direct_b.search(json!({})).await["totalCount"], total_a);
    // One JWKS whichever replica answers.
    let published = jwks(&a).await;
    assert_eq!(published, jwks(&b).await);

    // A teacher's deep linking, every step on the other replica than the one before.
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let auth = lms.login(&gateway).await;
    let token = lms.key.sign(&lms.deep_linking_claims(&auth, json!({})));
    let (status, location, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!(status, 303, "{body}");
    assert_ne!(balancer.routed("/lti/login")[0], balancer.routed("/lti/launch")[0], "login and launch split");
    let location = location.unwrap();
    let picker = gateway.client.get(gateway.url(&format!("{location}&q=fractions"))).send().await.unwrap();
    assert_eq!(picker.status(), 200);
    assert!(picker.text().await.unwrap().contains("Fraction Strips"), "the picker searches on any replica");
    let launch_id =
        url::Url::parse(&format!("http://x{location}")).unwrap().query_pairs().next().unwrap().1.into_owned();
    let insert = gateway
        .client
        .post(gateway.url("/lti/picker/insert"))
        .form(&[("launch", launch_id.as_str()), ("resource", "mathwise:MW-8-004"), ("action", "insert")])
        .send()
        .await
        .unwrap();
    assert_eq!(insert.status(), 200);
    assert_ne!(balancer.routed("/lti/picker")[0], balancer.routed("/lti/picker/insert")[0]);
    let (action, jwt) = form_post(&insert.text().await.unwrap());
    assert_eq!(action, lms.return_url());
    let response = verify_with_gateway_jwks(&gateway, &jwt, &lms).await;
    let items = response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"].as_array().unwrap();
    assert_eq!(items[0]["custom"]["gateway_resource_id"], "mathwise:MW-8-004");
    assert_eq!(items[0]["url"], gateway.url("/lti/launch"), "URLs are the balancer's, not a replica's");

    // The same id_token replayed, now to the other replica: refused.
    let (replayed, _, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert!((400..500).contains(&replayed), "a replayed launch is refused on every replica: {replayed} {body}");

    // A catalog pushed on A is searchable on B within two seconds.
    let key = direct_a.register_publisher("lakeside", "Lakeside Learning").await;
    let report = direct_a.ingest(&key, "LRMI", TIDEPOOLS, json!({})).await;
    assert_eq!(report["status"], "SUCCEEDED", "{report:#}");
    assert!(
        eventually(Duration::from_secs(2), || finds(&direct_b, "tidepool", "lakeside:LK-1")).await,
        "replica B did not see A's catalog within 2 s"
    );

    // `keys rotate` against the database reaches every replica.
    let cli_dir = tempfile::tempdir().unwrap();
    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_resource-gateway"))
        .args(["keys", "rotate"])
        .env("GATEWAY_DATA_DIR", cli_dir.path())
        .env("GATEWAY_DATABASE_URL", &db)
        .env("GATEWAY_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let old = kids(&published);
    let rotated_kids = || async {
        let (on_a, on_b) = (kids(&jwks(&a).await), kids(&jwks(&b).await));
        on_a.len() == old.len() + 1 && on_a == on_b && on_a.starts_with(&old)
    };
    assert!(eventually(Duration::from_secs(10), rotated_kids).await, "both replicas publish the new key");
    let new_kid = kids(&jwks(&a).await).last().cloned().unwrap();
    let launch = lms.deep_link(&gateway, json!({})).await;
    let signed = gateway
        .graphql_ok(
            "mutation($l: ID!, $ids: [ID!]!) { deepLinkingResponse(launch: $l, resourceIds: $ids) { jwt } }",
            json!({ "l": launch, "ids": ["lakeside:LK-1"] }),
            None,
        )
        .await;
    let jwt = signed["deepLinkingResponse"]["jwt"].as_str().unwrap();
    assert_eq!(jsonwebtoken::decode_header(jwt).unwrap().kid.as_deref(), Some(new_kid.as_str()));
    verify_with_gateway_jwks(&gateway, jwt, &lms).await;

    // A login begun on B, B killed: the launch finishes on A.
    balancer.set_backends(&[b.addr]);
    let auth = lms.login(&gateway).await;
    b.kill().await;
    balancer.set_backends(&[a.addr]);
    let token = lms.key.sign(&lms.deep_linking_claims(&auth, json!({})));
    let (status, _, body) = lms.post_launch(&gateway, &token, auth.state()).await;
    assert_eq!(status, 303, "a replica that died mid-login loses nothing: {body}");

    // A new replica with an empty data folder catches up from the log before it says ready.
    let c = Replica::start(&db, &balancer.url(), &[]).await;
    let direct_c = TestServer::remote(c.addr).await;
    assert!(finds(&direct_c, "tidepool", "lakeside:LK-1").await, "caught up before /readyz said so");
    assert_eq!(direct_c.search(json!({})).await["totalCount"], direct_a.search(json!({})).await["totalCount"]);
    assert!(!edge_ids(&direct_c.search(json!({ "query": "fractions" })).await).is_empty());
}

/// The catalog a publisher serves, whose first request never answers (the harvest that holds it
/// dies with its replica).
struct HangingCatalog {
    addr: std::net::SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl HangingCatalog {
    async fn start() -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let app = axum::Router::new().route(
            "/catalog.jsonld",
            get(move || {
                let counter = counter.clone();
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    ([("content-type", "application/ld+json")], TIDEPOOLS)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, requests }
    }
}

#[tokio::test]
async fn test_a_harvest_held_by_a_killed_replica_is_taken_over_when_its_lease_runs_out() {
    let Some(db) = database().await else { return };
    let settings = [("GATEWAY_HARVEST_LEASE_MS", "2000"), ("GATEWAY_LOAD_SAMPLES", "false")];
    let mut a = Replica::start(&db, "http://127.0.0.1:9", &settings).await;
    let direct_a = TestServer::remote(a.addr).await;
    let catalog = HangingCatalog::start().await;
    let key = direct_a.register_publisher("lakeside", "Lakeside Learning").await;
    direct_a
        .graphql_ok(
            "mutation($input: CatalogSourceInput!) { addCatalogSource(input: $input) { id } }",
            json!({ "input": { "url": format!("http://{}/catalog.jsonld", catalog.addr), "format": "LRMI", "refreshSeconds": 3600 } }),
            Some(&key),
        )
        .await;
    // A's scheduler claims the new source and its request hangs.
    let requests = catalog.requests.clone();
    assert!(
        eventually(Duration::from_secs(20), || {
            let requests = requests.clone();
            async move { requests.load(Ordering::SeqCst) == 1 }
        })
        .await,
        "replica A started the harvest"
    );
    let b = Replica::start(&db, "http://127.0.0.1:9", &settings).await;
    a.kill().await;
    let direct_b = TestServer::remote(b.addr).await;
    // B takes the source over once A's lease runs out, and harvests it.
    assert!(
        eventually(Duration::from_secs(30), || finds(&direct_b, "tidepool", "lakeside:LK-1")).await,
        "replica B did not take the harvest over: {}",
        b.logs()
    );
    assert_eq!(catalog.requests.load(Ordering::SeqCst), 2, "harvested once more, by one replica");
    let data = direct_b
        .graphql_ok(
            "query { publisher(id: \"lakeside\") { sources { runs(first: 5) { status } } } }",
            json!({}),
            Some(&key),
        )
        .await;
    let statuses: Vec<&str> = data["publisher"]["sources"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"SUCCEEDED"), "{statuses:?}");
    assert!(!statuses.contains(&"RUNNING"), "the dead replica's run is not left running: {statuses:?}");
}

/// PostgreSQL restarted under a running replica: while it is down, what needs the database
/// answers UNAVAILABLE (503) within a bounded wait, and search (the replica's own index) goes
/// on; once it is back the replica recovers by itself, without being restarted.
#[tokio::test]
async fn test_a_database_restart_answers_unavailable_then_recovers_by_itself() {
    let Some(postgres) = crate::cluster::OwnPostgres::start().await else { return };
    let settings = [("GATEWAY_LOAD_SAMPLES", "false")];
    let replica = Replica::start(&postgres.url(), "http://127.0.0.1:9", &settings).await;
    let gateway = TestServer::remote(replica.addr).await;
    let key = gateway.register_publisher("lakeside", "Lakeside Learning").await;
    assert_eq!(gateway.ingest(&key, "LRMI", TIDEPOOLS, json!({})).await["added"], 1);
    assert!(finds(&gateway, "tidepool", "lakeside:LK-1").await);

    postgres.stop();
    let started = std::time::Instant::now();
    let refused = gateway
        .graphql(
            "mutation($input: RegisterPublisherInput!) { registerPublisher(input: $input) { apiKey } }",
            json!({ "input": { "name": "Second", "id": "second" } }),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{refused:#}");
    let (status, body) = gateway.upload(Some(&key), "lakeside", "format=lrmi", TIDEPOOLS.as_bytes().to_vec()).await;
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() < Duration::from_secs(20), "bounded wait: {:?}", started.elapsed());
    assert!(finds(&gateway, "tidepool", "lakeside:LK-1").await, "search goes on from the local index");
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "/readyz tells the load balancer");

    postgres.start_again();
    let recovered = eventually(Duration::from_secs(30), || async {
        let pushed = gateway
            .graphql(
                "mutation($document: String!) { ingestCatalog(format: LRMI, document: $document) { status } }",
                json!({ "document": TIDEPOOLS }),
                Some(&key),
            )
            .await;
        pushed["data"]["ingestCatalog"]["status"] == "SUCCEEDED"
    })
    .await;
    assert!(recovered, "the replica did not recover: {}", replica.logs());
    gateway.register_publisher("second", "Second").await;
    assert!(finds(&gateway, "tidepool", "lakeside:LK-1").await);
    let ready = gateway.client.get(gateway.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// A student's launch brokered to a publisher's tool and the tool's score back to the LMS, each
/// step through the round-robin balancer: the launch validated on one replica, the tool's
/// authorization, token and score on whichever answers next.
#[tokio::test]
async fn test_a_brokered_launch_and_its_score_cross_replicas() {
    use crate::broker::{
        decode, field, inserted_quiz, post_score, query, quiz_publisher, student_launch, Tool, LINEITEM_READ, SCORE,
    };
    let Some(db) = database().await else { return };
    let balancer = Balancer::start().await;
    let settings = [("GATEWAY_LOAD_SAMPLES", "false")];
    let a = Replica::start(&db, &balancer.url(), &settings).await;
    let b = Replica::start(&db, &balancer.url(), &settings).await;
    balancer.set_backends(&[a.addr, b.addr]);
    let gateway = TestServer::remote(balancer.addr).await;
    let (direct_a, direct_b) = (TestServer::remote(a.addr).await, TestServer::remote(b.addr).await);

    let lms = Lms::start().await;
    lms.register(&gateway).await;
    lms.trust_gateway(&gateway);
    let tool = Tool::start("gw-at-quizzes").await;
    let key = quiz_publisher(&gateway, "quizzes", &tool).await;
    tool.register(&gateway, &key, None, false).await;
    for replica in [&direct_a, &direct_b] {
        assert!(eventually(Duration::from_secs(2), || finds(replica, "quiz", "quizzes:Q-7")).await);
    }
    let item = inserted_quiz(&gateway, &lms).await;

    let (status, location, body) = student_launch(&gateway, &lms, &item, &[SCORE, LINEITEM_READ]).await;
    assert_eq!(status, 303, "{body}");
    let login = query(&location.unwrap());
    let (status, html) = tool.authorize(&gateway, &login, &tool.url("/launch")).await;
    assert_eq!(status, 200, "the brokered launch is found on any replica: {html}");
    let claims = decode(&field(&html, "id_token").unwrap());
    let sub = claims["sub"].as_str().unwrap().to_string();
    let lineitem = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["lineitem"].as_str().unwrap();
    assert!(lineitem.starts_with(&gateway.url("/lti/platform/ags/")), "{lineitem}");
    // The same student launched again gets the same pseudonym, whichever replica signs.
    let (_, again, _) = student_launch(&gateway, &lms, &item, &[SCORE, LINEITEM_READ]).await;
    let (_, html) = tool.authorize(&gateway, &query(&again.unwrap()), &tool.url("/launch")).await;
    assert_eq!(decode(&field(&html, "id_token").unwrap())["sub"], sub.as_str());

    let assertion = tool.assertion(&gateway, "jti-replicas", 300);
    let (status, token) = tool.token(&gateway, &assertion, SCORE).await;
    assert_eq!(status, 200, "{token}");
    let (replayed, _) = tool.token(&gateway, &assertion, SCORE).await;
    assert!((400..500).contains(&replayed), "an assertion is single use across replicas: {replayed}");
    let score = json!({ "userId": sub, "scoreGiven": 9, "scoreMaximum": 10, "activityProgress": "Completed",
                        "gradingProgress": "FullyGraded", "timestamp": "2026-12-02T10:00:00Z" });
    for _ in 0..2 {
        // Twice, so that the tool's token is used on both replicas.
        let posted = post_score(&gateway, lineitem, token["access_token"].as_str().unwrap(), &score).await;
        assert_eq!(posted.status(), 200, "{}", posted.text().await.unwrap());
    }
    let received = lms.scores();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|s| s["userId"] == "student-42" && s["scoreGiven"] == 9), "{received:?}");
    let scores_path = url::Url::parse(lineitem).unwrap().path().to_string() + "/scores";
    let mut used: Vec<_> = ["/lti/launch", "/lti/platform/auth", "/lti/platform/token", scores_path.as_str()]
        .iter()
        .flat_map(|path| balancer.routed(path))
        .collect();
    used.sort();
    used.dedup();
    assert_eq!(used.len(), 2, "the flow's steps were answered by both replicas");
}

/// A replica killed (SIGKILL) while it ingests a big catalog, and a `keys rotate` killed while it
/// runs: the other replica keeps serving and never shows half a catalog; the killed replica
/// restarts on its data folder and agrees with the other; keys stay one set on both.
#[tokio::test]
async fn test_kills_during_an_ingest_and_a_key_rotation_lose_nothing_committed() {
    const COUNT: i64 = 10_000;
    let Some(db) = database().await else { return };
    let settings = [("GATEWAY_LOAD_SAMPLES", "false")];
    let folder = tempfile::tempdir().unwrap();
    let data_a = folder.path().join("a");
    let mut a = Replica::start_on(&data_a, Some(&db), "http://127.0.0.1:9", &settings).await;
    let b = Replica::start(&db, "http://127.0.0.1:9", &settings).await;
    let (direct_a, direct_b) = (TestServer::remote(a.addr).await, TestServer::remote(b.addr).await);
    let key = direct_a.register_publisher("bulk", "Bulk Publisher").await;

    let uploading = {
        let (client, url, key) =
            (direct_a.client.clone(), direct_a.url("/publishers/bulk/catalog?format=lrmi"), key.clone());
        tokio::spawn(async move {
            let body = crate::ingest::generated_lrmi(COUNT as usize, "quillwort");
            client.post(url).bearer_auth(key).body(body).send().await
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let answered = uploading.is_finished();
    a.kill().await;
    if answered {
        eprintln!("note: the ingest had already answered when the replica was killed");
    }
    // B serves throughout and never shows part of the catalog.
    for _ in 0..20 {
        let seen = publisher_total(&direct_b, "bulk").await;
        assert!(seen == 0 || seen == COUNT, "half a catalog on the other replica: {seen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let on_b = publisher_total(&direct_b, "bulk").await;

    let a = Replica::start_on(&data_a, Some(&db), "http://127.0.0.1:9", &settings).await;
    let direct_a = TestServer::remote(a.addr).await;
    assert_eq!(publisher_total(&direct_a, "bulk").await, on_b, "the restarted replica agrees with the other");
    // Pushed again on B: both hold the whole catalog.
    let (status, report) = direct_b
        .upload(Some(&key), "bulk", "format=lrmi", crate::ingest::generated_lrmi(COUNT as usize, "quillwort"))
        .await;
    assert_eq!(status, 200, "{report}");
    assert!(eventually(Duration::from_secs(5), || async { publisher_total(&direct_a, "bulk").await == COUNT }).await);
    assert_eq!(publisher_total(&direct_b, "bulk").await, COUNT);

    // `keys rotate` killed while it runs: both replicas still publish one and the same set, and
    // the next rotation completes and reaches both.
    let rotate = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_resource-gateway"));
        command
            .args(["keys", "rotate"])
            .env("GATEWAY_DATA_DIR", folder.path().join("cli"))
            .env("GATEWAY_DATABASE_URL", &db)
            .env("GATEWAY_SECRET_KEY", SECRET_KEY)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    let mut killed = rotate().spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let _ = killed.kill();
    let _ = killed.wait();
    let same = || async { jwks(&a).await == jwks(&b).await };
    assert!(eventually(Duration::from_secs(10), same).await, "one key set on both replicas");
    let before = kids(&jwks(&a).await);
    assert!(rotate().status().unwrap().success());
    let rotated = || async {
        let (on_a, on_b) = (kids(&jwks(&a).await), kids(&jwks(&b).await));
        on_a.len() == before.len() + 1 && on_a == on_b
    };
    assert!(eventually(Duration::from_secs(10), rotated).await, "the next rotation reaches both");
}

/// A replica killed during `removePublisher` on PostgreSQL: restarted, it finishes the removal,
/// and the replica that was never killed has taken the publisher's resources out too.
#[tokio::test]
async fn test_a_replica_killed_during_remove_publisher_finishes_it_and_the_other_follows() {
    let Some(db) = database().await else { return };
    let replica = Replica::start(&db, "http://127.0.0.1:9", &[]).await;
    crate::ingest::killed_during_remove_publisher(Some(&db)).await;
    let other = TestServer::remote(replica.addr).await;
    let gone = || async { publisher_total(&other, "victim").await == 0 };
    assert!(eventually(Duration::from_secs(2), gone).await, "the other replica still holds the publisher");
    assert!(publisher_total(&other, "mathwise").await > 0, "and keeps the samples");
}
