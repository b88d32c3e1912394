//! GraphQL queries: translate arguments, call the services, convert results.

use std::sync::Arc;

use async_graphql::{Context, Json, Object, Result, ID};
use base64::Engine;

use super::types::{
    FacetCount, Facets, Highlight, PageInfo, Publisher, Resource, ResourceFilter, SearchConnection, SearchEdge,
    SearchSort,
};
use crate::app::App;
use crate::error::AppError;
use crate::lti::content_item::content_item;
use crate::resource::{grade_label, PublisherId};
use crate::search::{Dimension, SearchRequest};

/// Search and catalog queries.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Full-text search across every publisher, with filters, facets and highlights.
    #[graphql(complexity = "super::limits::search_cost(first, live, child_complexity)")]
    #[expect(clippy::too_many_arguments, reason = "the contract's search arguments")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        filter: Option<ResourceFilter>,
        #[graphql(default)] sort: SearchSort,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        #[graphql(
            default = false,
            desc = "Also ask the publishers' live Resource Search sources (those registered with `live: true`) under one deadline; their hits that are not indexed yet come first, without duplicates, and `sources` says how each answered (LIVE, CACHED, TIMEOUT, UNAVAILABLE, ERROR)."
        )]
        live: bool,
    ) -> Result<SearchConnection> {
        let app = ctx.data::<Arc<App>>()?;
        if !(1..=crate::search::service::MAX_PAGE_SIZE as i32).contains(&first) {
            return Err(AppError::bad_input(format!(
                "first must be between 1 and {}",
                crate::search::service::MAX_PAGE_SIZE
            ))
            .into());
        }
        if query.as_ref().is_some_and(|q| q.len() > 1000) {
            return Err(AppError::bad_input("query must be at most 1000 characters").into());
        }
        let offset = match &after {
            Some(cursor) => decode_cursor(cursor)?,
            None => 0,
        };
        if let Some(filter) = &filter {
            filter.check()?;
        }
        let look_ahead = ctx.look_ahead();
        let with_sources = look_ahead.field("sources").exists();
        let facets_selection = look_ahead.field("facets");
        // A publisher's name is a cache lookup per value: 4% of the serving CPU under the peer
        // kit's mix, which does not ask for it (BENCHMARKS.md, issue 14).
        let publisher_labels = facets_selection.field("publisher").field("label").exists();
        let request = SearchRequest {
            text: query,
            filter: filter.unwrap_or_default().into_domain(),
            sort: sort.into(),
            offset,
            limit: first as usize,
            facets: Dimension::ALL.into_iter().filter(|d| facets_selection.field(d.graphql_name()).exists()).collect(),
            with_highlights: look_ahead.field("edges").field("highlights").exists(),
        };
        let federated = app.search.federated_search(request, live, with_sources).await?;
        let results = federated.results;
        let total = results.total;
        let edges: Vec<SearchEdge> = results
            .hits
            .into_iter()
            .enumerate()
            .map(|(position, hit)| SearchEdge {
                cursor: encode_cursor(offset + position + 1),
                score: f64::from(hit.score),
                node: Resource(hit.record),
                highlights: hit.highlights.into_iter().map(Highlight::from).collect(),
            })
            .collect();
        let end = offset + edges.len();
        let page_info = PageInfo {
            has_next_page: end < total,
            has_previous_page: offset > 0,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        let mut facets = Facets::default();
        for (dimension, values) in results.facets {
            let mut counts: Vec<FacetCount> = Vec::with_capacity(values.len());
            for (value, count) in values {
                let label = match dimension {
                    // From the publisher cache: no registry query per search.
                    Dimension::Publisher if !publisher_labels => None,
                    Dimension::Publisher => match PublisherId::parse(&value) {
                        Ok(id) => app.publishers.get(&id).await?.map(|p| p.name),
                        Err(_) => None,
                    },
                    _ => facet_label(dimension, &value),
                };
                counts.push(FacetCount { label, value, count: count as i32 });
            }
            match dimension {
                Dimension::Publisher => facets.publisher = counts,
                Dimension::Subject => facets.subject = counts,
                Dimension::ResourceType => facets.resource_type = counts,
                Dimension::Language => facets.language = counts,
                Dimension::License => facets.license = counts,
                Dimension::Kind => facets.kind = counts,
                Dimension::GradeLevel => {
                    let mut sorted = counts;
                    sorted.sort_by_key(|c| c.value.parse::<i32>().unwrap_or(i32::MAX));
                    facets.grade_level = sorted;
                }
                // Counted for the picker only; not asked for here.
                Dimension::Standard => {}
            }
        }
        let sources = super::sources::source_statuses(app, federated.sources).await?;
        Ok(SearchConnection { total_count: total as i32, edges, page_info, facets, sources })
    }

    /// One resource by its gateway id.
    async fn resource(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Resource>> {
        let app = ctx.data::<Arc<App>>()?;
        let found = app.search.resources(&[id.to_string()]).await?;
        Ok(found.into_iter().next().map(Resource))
    }

    async fn publishers(&self, ctx: &Context<'_>) -> Result<Vec<Publisher>> {
        let app = ctx.data::<Arc<App>>()?;
        Ok(app.publishers.list().await?.into_iter().map(Publisher).collect())
    }

    async fn publisher(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Publisher>> {
        let app = ctx.data::<Arc<App>>()?;
        let Ok(id) = PublisherId::parse(&id) else {
            return Ok(None);
        };
        Ok(app.publishers.get(&id).await?.map(Publisher))
    }

    /// LTI Deep Linking 2.0 content items for the given resources, in the order given;
    /// unknown ids answer NOT_FOUND.
    async fn content_items(&self, ctx: &Context<'_>, resource_ids: Vec<ID>) -> Result<Vec<Json<serde_json::Value>>> {
        let app = ctx.data::<Arc<App>>()?;
        let ids: Vec<String> = resource_ids.iter().map(|id| id.to_string()).collect();
        let records = app.search.resources(&ids).await?;
        let missing: Vec<&String> =
            ids.iter().filter(|id| !records.iter().any(|r| r.id().to_string() == **id)).collect();
        if !missing.is_empty() {
            let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(AppError::not_found(format!("no resource with id {}", list.join(", "))).into());
        }
        let launch_url = format!("{}/lti/launch", app.public_url);
        Ok(records.iter().map(|record| Json(content_item(record, &launch_url))).collect())
    }
}

/// The display label of a facet value (publishers are labelled from the publisher cache).
fn facet_label(dimension: Dimension, value: &str) -> Option<String> {
    match dimension {
        Dimension::Publisher => None,
        Dimension::GradeLevel => value.parse::<i8>().ok().map(grade_label),
        Dimension::Language => crate::labels::language_name(value).map(str::to_string),
        Dimension::License => crate::labels::license_label(value),
        Dimension::Kind | Dimension::Subject | Dimension::ResourceType | Dimension::Standard => None,
    }
}

const CURSOR_PREFIX: &str = "offset:";

/// Cursors are opaque to clients; inside they hold the position after the edge.
pub fn encode_cursor(position: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{position}"))
}

pub fn decode_cursor(cursor: &str) -> Result<usize, AppError> {
    let invalid = || AppError::bad_input("after is not a cursor this API gave out");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(CURSOR_PREFIX).and_then(|n| n.parse().ok()).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cursor_round_trip_and_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(40)).unwrap(), 40);
        assert!(decode_cursor("garbage!").is_err());
        assert!(decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("offset:x")).is_err());
    }
}
