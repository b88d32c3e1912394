//! Searching the bundled samples: cross-publisher results, facets, filters, typos, pages.

use std::collections::HashSet;

use serde_json::json;

use crate::common::{edge_ids, facet, TestServer};

const CASE_3_NF_A_1: &str = "f64fdf0c-e17a-5d51-9ff0-52665af3ecd5";

#[tokio::test]
async fn test_first_search_spans_publishers_with_exact_total() {
    let server = TestServer::with_samples().await;
    let all = server.search(json!({ "first": 1 })).await;
    assert_eq!(all["totalCount"], 180, "four sample publishers, 180 resources");
    let publishers: HashSet<String> = facet(&all, "publisher").into_iter().map(|(v, _)| v).collect();
    assert_eq!(publishers, HashSet::from(["mathwise", "sciencelab", "openreaders", "histarchive"].map(String::from)));

    let fractions = server.search(json!({ "query": "fractions", "first": 50 })).await;
    let hit_publishers: HashSet<String> = fractions["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["publisher"]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(hit_publishers.len() >= 3, "fractions should come from several publishers: {hit_publishers:?}");
    let top_title = fractions["edges"][0]["node"]["title"].as_str().unwrap().to_lowercase();
    assert!(top_title.contains("fraction"), "best hit mentions fractions in its title: {top_title}");
    assert!(fractions["facets"]["publisher"][0]["label"].is_string(), "publisher facet has names");
}

#[tokio::test]
async fn test_facets_ignore_their_own_filter() {
    let server = TestServer::with_samples().await;
    let filtered = server.search(json!({ "filter": { "publishers": ["mathwise"] }, "first": 5 })).await;
    assert_eq!(filtered["totalCount"], 42);
    let publishers = facet(&filtered, "publisher");
    assert_eq!(publishers.len(), 4, "the publisher facet still offers every publisher: {publishers:?}");
    assert!(publishers.contains(&("mathwise".to_string(), 42)));
    assert!(publishers.contains(&("sciencelab".to_string(), 48)));
    // Other facets are counted under the publisher filter.
    let kinds = facet(&filtered, "kind");
    assert_eq!(kinds.iter().map(|(_, c)| c).sum::<i64>(), 42);
    assert!(kinds.contains(&("LTI_RESOURCE_LINK".to_string(), 40)), "{kinds:?}");

    let both = server.search(json!({ "filter": { "publishers": ["mathwise"], "kinds": ["LINK"] }, "first": 5 })).await;
    assert_eq!(both["totalCount"], 2, "mathwise has two web links");
    let kinds = facet(&both, "kind");
    assert!(kinds.contains(&("LTI_RESOURCE_LINK".to_string(), 40)), "kind facet ignores the kind filter: {kinds:?}");
    let publishers = facet(&both, "publisher");
    assert!(publishers.iter().any(|(p, _)| p == "openreaders"), "publisher facet ignores the publisher filter");
}

#[tokio::test]
async fn test_filters_grade_overlap_language_license_kind_subject() {
    let server = TestServer::with_samples().await;
    let grade3 = server.search(json!({ "filter": { "gradeMin": 3, "gradeMax": 3 }, "first": 100 })).await;
    let total = grade3["totalCount"].as_i64().unwrap();
    assert!(total > 10, "plenty of grade 3 material");
    for edge in grade3["edges"].as_array().unwrap() {
        let (min, max) = (edge["node"]["gradeMin"].as_i64().unwrap(), edge["node"]["gradeMax"].as_i64().unwrap());
        assert!(min <= 3 && max >= 3, "{} covers grade 3: {min}..{max}", edge["node"]["id"]);
    }
    assert!(edge_ids(&grade3)
        .contains(&"openreaders:https://openreaders.example.org/resources/pizza-party-fair-shares".to_string()));
    let higher_ed = server.search(json!({ "filter": { "gradeMin": 13 }, "first": 100 })).await;
    let ids = edge_ids(&higher_ed);
    assert!(
        ids.contains(&"mathwise:MW-HE-001".to_string()) && ids.contains(&"sciencelab:SL-1036".to_string()),
        "{ids:?}"
    );

    let spanish = server.search(json!({ "filter": { "languages": ["es"] }, "first": 100 })).await;
    assert!(spanish["totalCount"].as_i64().unwrap() >= 4);
    for edge in spanish["edges"].as_array().unwrap() {
        let languages = edge["node"]["languages"].as_array().unwrap();
        assert!(languages.iter().any(|l| l.as_str().unwrap().starts_with("es")), "{edge}");
    }

    let cc_by = "https://creativecommons.org/licenses/by/4.0/";
    let licensed = server.search(json!({ "filter": { "licenses": [cc_by] }, "first": 100 })).await;
    assert!(licensed["totalCount"].as_i64().unwrap() > 0);
    for edge in licensed["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["license"], cc_by);
    }
    let license_facet = facet(&licensed, "license");
    assert!(license_facet.len() > 1, "licence facet ignores the licence filter");

    let links = server.search(json!({ "filter": { "kinds": ["LINK"] }, "first": 100 })).await;
    assert_eq!(links["totalCount"], 180 - 40 - 31, "every resource but the 71 LTI links");

    let science = server.search(json!({ "filter": { "subjects": ["Science"] }, "first": 100 })).await;
    for edge in science["edges"].as_array().unwrap() {
        assert!(edge["node"]["subjects"].as_array().unwrap().iter().any(|s| s == "Science"));
    }

    let standard = server.search(json!({ "filter": { "alignments": [CASE_3_NF_A_1] }, "first": 100 })).await;
    let ids: HashSet<String> = edge_ids(&standard).into_iter().collect();
    for expected in [
        "mathwise:MW-3-001",
        "sciencelab:SL-1021",
        "openreaders:https://openreaders.example.org/resources/fraction-word-problems-everyday-stories",
    ] {
        assert!(ids.contains(expected), "{expected} is aligned to 3.NF.A.1: {ids:?}");
    }
    let free = server.search(json!({ "filter": { "freeOnly": true }, "first": 1 })).await;
    assert!(free["totalCount"].as_i64().unwrap() > 0 && free["totalCount"].as_i64().unwrap() < 180);
}

#[tokio::test]
async fn test_typos_codes_and_highlights() {
    let server = TestServer::with_samples().await;
    for typo in ["photosynthsis", "fotosynthesis", "fractoins"] {
        let found = server.search(json!({ "query": typo, "first": 5 })).await;
        assert!(found["totalCount"].as_i64().unwrap() > 0, "'{typo}' finds something");
    }
    let short = server.search(json!({ "query": "phot", "first": 5 })).await;
    assert_eq!(short["totalCount"], 0, "short words are not fuzzy-matched");

    let code = server.search(json!({ "query": "3.NF.A.1", "first": 50 })).await;
    assert!(edge_ids(&code).contains(&"mathwise:MW-3-001".to_string()), "search by standard code");

    let highlighted = server.search(json!({ "query": "photosynthesis", "first": 5 })).await;
    let snippet = highlighted["edges"][0]["highlights"][0]["snippet"].as_str().unwrap();
    assert!(snippet.to_lowercase().contains("<mark>photosynthesis</mark>"), "{snippet}");

    let nothing = server.search(json!({ "query": "zzzqqqxxy", "first": 5 })).await;
    assert_eq!(nothing["totalCount"], 0);
    assert_eq!(nothing["edges"], json!([]));
}

#[tokio::test]
async fn test_pagination_reaches_the_end_without_duplicates_or_gaps() {
    let server = TestServer::with_samples().await;
    for (query, sort) in
        [(json!(null), "RELEVANCE"), (json!("history"), "RELEVANCE"), (json!(null), "TITLE"), (json!(null), "NEWEST")]
    {
        let mut seen = Vec::new();
        let mut after = json!(null);
        let mut total = None;
        for _ in 0..100 {
            let page = server.search(json!({ "query": query, "sort": sort, "first": 7, "after": after })).await;
            total.get_or_insert(page["totalCount"].as_i64().unwrap());
            seen.extend(edge_ids(&page));
            if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates ({query}, {sort})");
        assert_eq!(seen.len() as i64, total.unwrap(), "no gaps ({query}, {sort})");
    }
    let by_title = server.search(json!({ "sort": "TITLE", "first": 100 })).await;
    let titles: Vec<String> = by_title["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);
}

#[tokio::test]
async fn test_resource_lookup_and_content_items() {
    let server = TestServer::with_samples().await;
    let data = server
        .graphql_ok(
            r#"{ resource(id: "mathwise:MW-8-004") { id title kind lti { launchUrl custom lineItem { scoreMaximum } } }
                 missing: resource(id: "mathwise:nope") { id }
                 contentItems(resourceIds: ["mathwise:MW-8-004", "openreaders:OR-A-001"]) }"#,
            json!({}),
            None,
        )
        .await;
    assert_eq!(data["resource"]["kind"], "LTI_RESOURCE_LINK");
    assert_eq!(data["resource"]["lti"]["lineItem"]["scoreMaximum"], 10.0);
    assert!(data["missing"].is_null());
    let items = data["contentItems"].as_array().unwrap();
    assert_eq!(items[0]["type"], "ltiResourceLink");
    assert_eq!(items[0]["url"], server.url("/lti/launch"));
    assert_eq!(items[0]["custom"]["gateway_resource_id"], "mathwise:MW-8-004");
    assert_eq!(items[0]["lineItem"]["scoreMaximum"], 10.0);
    assert_eq!(items[1]["type"], "link");
    assert!(items[1]["url"].as_str().unwrap().starts_with("https://openreaders.example.org/"));
    assert!(items[1]["title"].is_string());

    let unknown = server.graphql(r#"{ contentItems(resourceIds: ["mathwise:nope"]) }"#, json!({}), None).await;
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "NOT_FOUND");
}
