//! What one GraphQL request may cost: the standard introspection of every mainstream client
//! passes, hostile shapes do not, one budget covers a whole batch (counted as searches the
//! index ran), and a query past its deadline answers and stops.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use resource_gateway::graphql::limits::{search_cost, ANONYMOUS_BUDGET, KEYED_BUDGET, SEARCH_COST};
use serde_json::{json, Value};

use crate::common::{TestServer, ADMIN_TOKEN};

/// Searches the gateway's index has run so far (`gateway_searches_total`).
pub async fn searches_run(server: &TestServer) -> u64 {
    let metrics = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("gateway_searches_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no gateway_searches_total in {metrics}"))
}

pub async fn post_json(server: &TestServer, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut request = server.client.post(server.url("/graphql")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("graphql request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

/// The named type at the bottom of a type reference.
fn named(reference: &Value) -> Option<&str> {
    match reference["name"].as_str() {
        Some(name) => Some(name),
        None if reference["ofType"].is_object() => named(&reference["ofType"]),
        None => None,
    }
}

#[tokio::test]
async fn test_standard_introspection_of_graphql_js_and_graphql_core_answers_the_whole_schema() {
    let server = TestServer::empty().await;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/introspection");
    let mut fixtures: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "graphql"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 6, "{fixtures:?}");
    for path in fixtures {
        let query = std::fs::read_to_string(&path).unwrap();
        // As clients send it: anonymous, with the operation's name.
        let body = json!({ "query": query, "operationName": "IntrospectionQuery", "variables": {} });
        let (status, answer) = post_json(&server, &body, None).await;
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(status, 200, "{name}: {answer}");
        assert!(answer.get("errors").is_none(), "{name}: {answer:#}");
        let schema = &answer["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "QueryRoot", "{name}");
        assert_eq!(schema["mutationType"]["name"], "MutationRoot", "{name}");
        let types = schema["types"].as_array().unwrap();
        let names: HashSet<&str> = types.iter().filter_map(|t| t["name"].as_str()).collect();
        for expected in ["QueryRoot", "SearchConnection", "Resource", "IngestReport", "IngestStatus", "__Schema"] {
            assert!(names.contains(expected), "{name}: {expected} missing");
        }
        // Every type a field, argument or input field refers to is in the answer: the type
        // references were deep enough to build a client schema from.
        for ty in types {
            for member in ["fields", "inputFields"] {
                for field in ty[member].as_array().into_iter().flatten() {
                    let target = named(&field["type"]).unwrap_or_else(|| panic!("{name}: unnamed {field}"));
                    assert!(names.contains(target), "{name}: {target} is referenced but not listed");
                    for arg in field["args"].as_array().into_iter().flatten() {
                        assert!(named(&arg["type"]).is_some_and(|t| names.contains(t)), "{name}: {arg}");
                    }
                }
            }
        }
        let search = types.iter().find(|t| t["name"] == "QueryRoot").unwrap()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "search")
            .cloned()
            .unwrap();
        assert_eq!(search["type"]["kind"], "NON_NULL", "{name}");
        assert_eq!(search["type"]["ofType"]["name"], "SearchConnection", "{name}");
    }
}

#[tokio::test]
async fn test_hostile_shapes_are_refused_with_query_too_complex() {
    let server = TestServer::empty().await;
    let of_types = "ofType { ".repeat(11) + "name" + &" }".repeat(11);
    let chains = [
        format!("{{ __type(name: \"QueryRoot\") {{ fields {{ type {{ {of_types} }} }} }} }}"),
        // Each level lists every field's type's fields again: the answer would multiply.
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }".to_string(),
        format!("{{ search {{ edges {{ node {{ {} id {} }} }} }} }}", "publisher { ".repeat(11), "}".repeat(11)),
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_string(),
        "{ a ".repeat(100) + &"}".repeat(100),
    ];
    for query in &chains {
        let answer = server.graphql(query, json!({}), None).await;
        assert_eq!(code(&answer), "QUERY_TOO_COMPLEX", "{query}: {answer}");
    }
    // A fragment that spreads the next twice, 24 times over: refused before it is expanded.
    let mut bomb = String::from("{ ...F0 }");
    for level in 0..24 {
        bomb.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
    }
    bomb.push_str(" fragment F24 on Query { __typename }");
    let answer = server.graphql(&bomb, json!({}), None).await;
    assert_eq!(code(&answer), "QUERY_TOO_COMPLEX", "{answer}");
    // Errors of the caller's own making are BAD_USER_INPUT, from their type, not their text.
    let unknown = server.graphql("{ nope }", json!({}), None).await;
    assert_eq!(code(&unknown), "BAD_USER_INPUT", "{unknown}");
    let variables =
        server.graphql("query($n: Int) { search(first: $n) { totalCount } }", json!({ "n": "x" }), None).await;
    assert_eq!(code(&variables), "BAD_USER_INPUT", "{variables}");
}

/// `count` operations of `per_operation` aliased searches each.
fn aliased_batch(count: usize, per_operation: usize) -> Value {
    let operation: String =
        (0..per_operation).map(|n| format!("s{n}:search(query:\"fractions\",first:4){{totalCount}} ")).collect();
    Value::Array((0..count).map(|_| json!({ "query": format!("{{ {operation}}}") })).collect())
}

#[tokio::test]
async fn test_one_budget_covers_every_operation_of_a_batch_counted_as_searches_run() {
    let server = TestServer::with_samples().await;
    // What the outsider sent: 10 operations of 190 aliased searches each (62 KB).
    let operation: String = (0..190).map(|n| format!("s{n}:search{{totalCount}} ")).collect();
    let attack = Value::Array((0..10).map(|_| json!({ "query": format!("{{ {operation}}}") })).collect());
    assert!(attack.to_string().len() < 64 * 1024);
    let before = searches_run(&server).await;
    let (status, answer) = post_json(&server, &attack, None).await;
    assert_eq!(status, 200);
    for response in answer.as_array().unwrap() {
        assert_eq!(code(response), "QUERY_TOO_COMPLEX", "{response}");
    }
    assert_eq!(searches_run(&server).await - before, 0, "no search ran");

    // Three searches per operation: the budget admits operations until it is spent, whatever
    // the batch; the rest are refused without running.
    let per_search = search_cost(4, false, 1); // a page of 4 selecting one field
    let per_operation = 3 * per_search;
    for (token, budget) in [(None, ANONYMOUS_BUDGET), (Some(ADMIN_TOKEN), KEYED_BUDGET)] {
        let admitted = (budget / per_operation).min(10);
        let before = searches_run(&server).await;
        let (_, answer) = post_json(&server, &aliased_batch(10, 3), token).await;
        let responses = answer.as_array().unwrap();
        for (n, response) in responses.iter().enumerate() {
            if n < admitted {
                assert!(response.get("errors").is_none(), "operation {n}: {response}");
                assert!(response["data"]["s0"]["totalCount"].as_i64().unwrap() > 0);
            } else {
                assert_eq!(code(response), "QUERY_TOO_COMPLEX", "operation {n}: {response}");
            }
        }
        assert_eq!(searches_run(&server).await - before, (admitted * 3) as u64, "token {token:?}");
    }
    assert!(ANONYMOUS_BUDGET / per_operation < 10, "anonymous callers get less than a key");
    // One teacher's search of a full page, every field and facet selected, fits anonymously.
    let page = server.search(json!({ "query": "fractions", "first": 100 })).await;
    assert!(page["totalCount"].as_i64().unwrap() > 0);
}

/// A Resource Search endpoint that answers harvests at once and live searches never (within
/// the test).
async fn hanging_live_source() -> String {
    async fn resources(Query(query): Query<std::collections::HashMap<String, String>>) -> Json<Value> {
        if query.contains_key("filter") {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Json(json!({ "resources": [] }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/ims/rs/v1p0/resources", get(resources))).await.unwrap();
    });
    format!("http://{addr}/ims/rs/v1p0")
}

#[tokio::test]
async fn test_a_query_past_its_deadline_answers_unavailable_and_the_rest_of_the_batch_never_runs() {
    let server = TestServer::start_with(|config| {
        config.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        config.live_deadline = Duration::from_secs(20);
        config.query_deadline = Duration::from_millis(300);
    })
    .await;
    let key = server.register_publisher("slow", "Slow Publisher").await;
    let url = hanging_live_source().await;
    server
        .graphql_ok(
            "mutation($input: CatalogSourceInput!) { addCatalogSource(input: $input) { id } }",
            json!({ "input": { "url": url, "format": "RESOURCE_SEARCH", "live": true } }),
            Some(&key),
        )
        .await;
    let mut batch = vec![json!({ "query": "{ search(query: \"fractions\", live: true) { totalCount } }" })];
    if let Value::Array(rest) = aliased_batch(3, 3) {
        batch.extend(rest);
    }
    let before = searches_run(&server).await;
    let (status, answer) = post_json(&server, &Value::Array(batch), None).await;
    assert_eq!(status, 200);
    for response in answer.as_array().unwrap() {
        assert_eq!(code(response), "UNAVAILABLE", "{response}");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains("300 ms"), "{response}");
    }
    // Only the live query's own index search ran; the nine searches after it never started.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(searches_run(&server).await - before, 1);
    // The gateway is not held up by the abandoned query.
    let after = server.search(json!({ "query": "fractions", "first": 1 })).await;
    assert!(after["totalCount"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn test_statuses_are_enums_and_the_string_fields_stay_with_a_deprecation() {
    let server = TestServer::empty().await;
    let key = server.register_publisher("enums", "Enum Publisher").await;
    let document = json!({ "resources": [
        { "name": "Good", "url": "https://enums.example.com/good", "learningResourceType": ["Lecture"], "publisher": "Enum" },
        { "name": "No url or link", "learningResourceType": ["Lecture"], "publisher": "Enum" }
    ] })
    .to_string();
    let ingest = "mutation($doc: String!) { ingestCatalog(format: RESOURCE_SEARCH, document: $doc) {
        outcome status diagnostics { level severity message } } }";
    let report = server.graphql_ok(ingest, json!({ "doc": document }), Some(&key)).await["ingestCatalog"].clone();
    assert_eq!(report["outcome"], "PARTIAL", "{report}");
    assert_eq!(report["status"], "PARTIAL", "the string field keeps answering");
    let diagnostic = report["diagnostics"].as_array().unwrap().iter().find(|d| d["level"] == "ERROR").cloned();
    let diagnostic = diagnostic.unwrap_or_else(|| panic!("an ERROR diagnostic: {report}"));
    assert_eq!(diagnostic["severity"], "ERROR");
    let history = server
        .graphql_ok(
            r#"{ publisher(id: "enums") { ingests { outcome status diagnostics { level severity } } } }"#,
            json!({}),
            Some(&key),
        )
        .await;
    let run = &history["publisher"]["ingests"][0];
    assert_eq!((run["outcome"].as_str(), run["status"].as_str()), (Some("PARTIAL"), Some("PARTIAL")), "{run}");
    assert_eq!(run["diagnostics"][0]["level"], run["diagnostics"][0]["severity"]);

    // Introspection shows clients which fields to move to.
    let types = server
        .graphql_ok(
            r#"{ report: __type(name: "IngestReport") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } }
                 diagnostic: __type(name: "Diagnostic") { fields(includeDeprecated: true) { name isDeprecated type { kind name ofType { name } } } } }"#,
            json!({}),
            None,
        )
        .await;
    let field = |ty: &str, name: &str| {
        types[ty]["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).cloned().unwrap()
    };
    assert_eq!(field("report", "status")["isDeprecated"], true);
    assert!(field("report", "status")["deprecationReason"].as_str().unwrap().contains("outcome"));
    assert_eq!(field("report", "outcome")["isDeprecated"], false);
    assert_eq!(field("diagnostic", "severity")["isDeprecated"], true);
    assert_eq!(field("diagnostic", "level")["type"]["ofType"]["name"], "DiagnosticSeverity");
}

/// Random GraphQL documents from the schema's own vocabulary, mostly well-formed, sometimes
/// not: deep and wide selections, aliases, arguments of every kind, fragments (some cyclic),
/// directives, introspection, batches.
struct Fuzzer {
    rng: rand::rngs::StdRng,
}

const FIELDS: [&str; 34] = [
    "search",
    "resource",
    "publishers",
    "publisher",
    "contentItems",
    "edges",
    "node",
    "publisher",
    "sources",
    "lastRun",
    "runs",
    "diagnostics",
    "facets",
    "subject",
    "value",
    "count",
    "totalCount",
    "pageInfo",
    "id",
    "title",
    "__typename",
    "__schema",
    "__type",
    "types",
    "fields",
    "type",
    "ofType",
    "name",
    "kind",
    "interfaces",
    "possibleTypes",
    "args",
    "ingests",
    "highlights",
];

impl Fuzzer {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        use rand::Rng;
        options[self.rng.gen_range(0..options.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        use rand::Rng;
        self.rng.gen_range(0..100) < percent
    }

    fn argument(&mut self) -> String {
        use rand::Rng;
        let name = self.pick(&["first", "query", "id", "name", "live", "after", "filter", "resourceIds", "nope"]);
        let value = match self.rng.gen_range(0..8) {
            0 => self.rng.gen_range(-5_i64..5_000_000_000).to_string(),
            1 => format!("\"{}\"", self.pick(&["fractions", "QueryRoot", "", "\\u0000", "x".repeat(50).as_str()])),
            2 => self.pick(&["true", "false", "null", "RELEVANCE"]).to_string(),
            3 => "$v".to_string(),
            4 => "[\"a\", \"b\"]".to_string(),
            5 => "{ subjects: [\"Math\"], gradeMin: 3 }".to_string(),
            6 => format!("{}", self.rng.gen_range(0..200)),
            _ => "1.5".to_string(),
        };
        format!("{name}: {value}")
    }

    fn selection(&mut self, depth: usize, out: &mut String, budget: &mut usize) {
        use rand::Rng;
        let width = self.rng.gen_range(1..if depth < 3 { 12 } else { 4 });
        for n in 0..width {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            if self.chance(25) {
                out.push_str(&format!("a{n}{}: ", self.rng.gen_range(0..1000)));
            }
            match self.rng.gen_range(0..20) {
                0 => out.push_str(&format!("...F{} ", self.rng.gen_range(0..4))),
                1 => {
                    out.push_str("... on QueryRoot { ");
                    self.selection(depth + 1, out, budget);
                    out.push_str("} ");
                    continue;
                }
                _ => out.push_str(self.pick(&FIELDS)),
            }
            if self.chance(30) {
                let count = self.rng.gen_range(1..3);
                let arguments: Vec<String> = (0..count).map(|_| self.argument()).collect();
                out.push_str(&format!("({})", arguments.join(", ")));
            }
            if self.chance(5) {
                out.push_str(self.pick(&[" @skip(if: false)", " @include(if: true)", " @nope"]));
            }
            if depth < 40 && self.chance(if depth < 4 { 60 } else { 45 }) {
                out.push_str(" { ");
                self.selection(depth + 1, out, budget);
                out.push_str("} ");
            } else {
                out.push(' ');
            }
        }
    }

    /// A well-formed document against the schema, with random sizes: it gets executed (or
    /// refused for its cost).
    fn valid_document(&mut self) -> String {
        use rand::Rng;
        let count = self.rng.gen_range(1..16);
        let mut out = String::from("query($v: Int) { ");
        for n in 0..count {
            let selection = self.pick(&[
                "totalCount",
                "totalCount edges { cursor node { id title publisher { name } } }",
                "edges { node { id kind subjects alignments { code } } highlights { field snippet } }",
                "facets { subject { value count } gradeLevel { label count } } pageInfo { hasNextPage }",
            ]);
            match self.rng.gen_range(0..6) {
                0 => out.push_str(&format!("p{n}: publishers {{ id name resourceCount }} ")),
                1 => out.push_str(&format!(
                    "t{n}: __type(name: \"Resource\") {{ fields {{ name type {{ kind ofType {{ name }} }} }} }} "
                )),
                2 => out.push_str(&format!("v{n}: search(first: $v) {{ {selection} }} ")),
                _ => {
                    let first = self.rng.gen_range(1..=100);
                    let query = self.pick(&["fractions", "photosynthsis", "\"water cycle\"", "3.NF.A.1", "zzz"]);
                    out.push_str(&format!("s{n}: search(query: \"{query}\", first: {first}) {{ {selection} }} "));
                }
            }
        }
        out.push('}');
        out
    }

    fn document(&mut self) -> String {
        use rand::Rng;
        if self.chance(40) {
            return self.valid_document();
        }
        let mut budget = self.rng.gen_range(5..600);
        let mut out = String::new();
        let operations = if self.chance(15) { self.rng.gen_range(2..4) } else { 1 };
        for n in 0..operations {
            let keyword = if self.chance(10) { "mutation" } else { "query" };
            out.push_str(&format!("{keyword} Op{n}($v: Int) {{ "));
            self.selection(0, &mut out, &mut budget);
            out.push_str("} ");
        }
        for n in 0..self.rng.gen_range(0..4) {
            out.push_str(&format!("fragment F{n} on {} {{ ", self.pick(&["QueryRoot", "Resource", "__Type"])));
            self.selection(1, &mut out, &mut budget);
            out.push_str("} ");
        }
        if self.chance(8) {
            // Garbage: cut the text somewhere or add a stray token.
            let cut = self.rng.gen_range(0..out.len().max(1));
            out.truncate(cut);
            out.push_str(self.pick(&["{", "}", "(", "$", "\"", "...", "@"]));
        }
        out.truncate(60 * 1024);
        out
    }
}

#[tokio::test]
async fn test_random_documents_within_the_size_cap_do_bounded_work_and_never_fail_the_server() {
    use rand::SeedableRng;
    let server = TestServer::with_samples().await;
    let mut fuzzer = Fuzzer { rng: rand::rngs::StdRng::seed_from_u64(16) };
    let most_searches = (ANONYMOUS_BUDGET / SEARCH_COST) as u64;
    let mut answered_data = 0;
    for round in 0..300 {
        let body = if fuzzer.chance(10) {
            let count = rand::Rng::gen_range(&mut fuzzer.rng, 2..6);
            Value::Array((0..count).map(|_| json!({ "query": fuzzer.document(), "variables": { "v": 3 } })).collect())
        } else {
            json!({ "query": fuzzer.document(), "variables": { "v": 3 } })
        };
        let before = searches_run(&server).await;
        let started = std::time::Instant::now();
        let response = server.client.post(server.url("/graphql")).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let took = started.elapsed();
        assert!(status < 500, "round {round}: {status} for {body}: {text}");
        assert!(took < Duration::from_secs(10), "round {round} took {took:?}: {body}");
        assert!(text.len() < 4 * 1024 * 1024, "round {round}: a {} byte answer for {body}", text.len());
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("round {round}: not JSON: {text}"));
        let ran = searches_run(&server).await - before;
        assert!(ran <= most_searches, "round {round}: {ran} searches for one anonymous request: {body}");
        let answers = answer.as_array().cloned().unwrap_or_else(|| vec![answer.clone()]);
        for single in &answers {
            for error in single["errors"].as_array().into_iter().flatten() {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                assert!(
                    ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX", "NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN"]
                        .contains(&code),
                    "round {round}: code {code:?} in {single} for {body}"
                );
            }
            answered_data += usize::from(single["data"].is_object());
        }
    }
    assert!(answered_data > 20, "the fuzzer also reaches execution, not only refusals ({answered_data})");
    assert_eq!(server.client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
}
