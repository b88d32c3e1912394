//! Anyone can start an LTI login, so a flood of login initiations must store nothing and must
//! not delay teachers: 200,000 anonymous initiations (with the registered issuer, so each
//! passes every check and is answered with a redirect), then a real launch that succeeds as
//! fast as before the flood.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestServer;
use crate::lms::{Lms, CLIENT_ID};

const FLOOD: usize = 200_000;
/// Connections the flood uses, each sending its share in pipelined batches.
const CONNECTIONS: usize = 8;
const BATCH: usize = 200;

fn url_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Sends `FLOOD / CONNECTIONS` login initiations on one keep-alive connection, a batch at a
/// time (HTTP/1.1 pipelining keeps the client's own cost out of the way); answers how many
/// were answered `303 See Other`.
async fn flood_connection(addr: std::net::SocketAddr, connection: usize, issuer: &str, target: &str) -> usize {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let share = FLOOD / CONNECTIONS;
    let mut redirected = 0;
    let mut answered = 0;
    let mut pending = Vec::new();
    let mut buffer = vec![0u8; 256 * 1024];
    while answered < share {
        let batch = BATCH.min(share - answered);
        let mut requests = String::new();
        for n in 0..batch {
            requests.push_str(&format!(
                "GET /lti/login?iss={issuer}&login_hint=flood-{connection}-{}&target_link_uri={target}&client_id={CLIENT_ID} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
                answered + n
            ));
        }
        stream.write_all(requests.as_bytes()).await.unwrap();
        let mut seen = 0;
        while seen < batch {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the gateway closed the connection");
            pending.extend_from_slice(&buffer[..read]);
            // Each answer is a status line and headers without a body.
            while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                if pending.starts_with(b"HTTP/1.1 303 ") {
                    redirected += 1;
                }
                pending.drain(..end + 4);
                seen += 1;
            }
        }
        answered += batch;
    }
    redirected
}

/// Bytes of the registry's database files (the database, its WAL and shared memory).
fn registry_bytes(gateway: &TestServer) -> u64 {
    ["registry.sqlite3", "registry.sqlite3-wal", "registry.sqlite3-shm"]
        .iter()
        .filter_map(|name| std::fs::metadata(gateway.data_dir.join(name)).ok())
        .map(|m| m.len())
        .sum()
}

/// One teacher's deep-linking launch from login initiation to the picker redirect; answers
/// how long it took.
async fn real_launch(gateway: &TestServer, lms: &Lms) -> Duration {
    let started = Instant::now();
    let auth = lms.login(gateway).await;
    let token = lms.key.sign(&lms.deep_linking_claims(&auth, json!({})));
    let (status, location, body) = lms.post_launch(gateway, &token, auth.state()).await;
    assert_eq!(status, 303, "{body}");
    assert!(location.unwrap().starts_with("/lti/picker?launch="));
    started.elapsed()
}

async fn median_launch(gateway: &TestServer, lms: &Lms) -> Duration {
    let mut times = Vec::new();
    for _ in 0..7 {
        times.push(real_launch(gateway, lms).await);
    }
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_200000_login_initiations_store_nothing_and_do_not_delay_a_real_launch() {
    let gateway = TestServer::federated(800).await;
    let lms = Lms::start().await;
    lms.register(&gateway).await;
    let before = median_launch(&gateway, &lms).await;
    let stored_before = registry_bytes(&gateway);

    let issuer = url_encoded(&lms.issuer());
    let target = url_encoded(&gateway.url("/lti/launch"));
    let started = Instant::now();
    let mut connections = Vec::new();
    for connection in 0..CONNECTIONS {
        let (addr, issuer, target) = (gateway.addr, issuer.clone(), target.clone());
        connections.push(tokio::spawn(async move { flood_connection(addr, connection, &issuer, &target).await }));
    }
    let mut redirected = 0;
    for connection in connections {
        redirected += connection.await.unwrap();
    }
    let flood_took = started.elapsed();
    assert_eq!(redirected, FLOOD, "every initiation was answered with a redirect to the LMS, none refused");

    // Nothing was stored: the registry did not grow by a single page.
    let stored_after = registry_bytes(&gateway);
    assert!(stored_after <= stored_before + 4096, "the registry grew from {stored_before} to {stored_after} bytes");

    // A teacher launches right after, as fast as before.
    let after = median_launch(&gateway, &lms).await;
    eprintln!("{FLOOD} login initiations in {flood_took:?}; a real launch took {before:?} before, {after:?} after");
    assert!(
        after <= before * 3 + Duration::from_millis(100),
        "launch took {before:?} before the flood, {after:?} after"
    );
}
