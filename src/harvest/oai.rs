//! Harvesting an OAI-PMH 2.0 repository: `ListRecords` with `metadataPrefix` `lom` (or
//! `oai_dc`), following `resumptionToken` to the end of the list.
//!
//! - The first harvest is full: the pages together are the whole catalog and replace the
//!   source's resources in one commit, so searches never see half a list.
//! - Later harvests are incremental: `from=<day of the last successful harvest>` (day
//!   granularity, which every repository supports; the overlap only re-reads a few records),
//!   merged: records are added or updated and `deleted` ones removed.
//! - `badResumptionToken` (an expired token) restarts the list from the beginning once; a
//!   second one, or any other OAI error, fails the run and changes nothing.
//!   `noRecordsMatch` is an empty, successful answer. A repository that cannot give `lom`
//!   is asked for `oai_dc` unless the source URL names a `metadataPrefix` itself.

use std::collections::HashSet;

use chrono::Utc;
use url::Url;

use super::resource_search::merge_into;
use super::{HarvestContext, HarvestError, Harvested, HarvestedCatalog};
use crate::catalog::{CatalogError, Diagnostic, ParsedCatalog};
use crate::harvest::fetch::Fetched;
use crate::registry::HarvestCursor;
use crate::resource::IngestMode;

/// Pages one harvest follows at most (a guard against a repository that never ends a list).
const MAX_PAGES: usize = 100_000;
const ACCEPT: &str = "text/xml, application/xml";

/// Query parameters the harvester sets itself; others in the source URL (`set`) are kept.
const PROTOCOL_PARAMS: [&str; 5] = ["verb", "metadataPrefix", "from", "until", "resumptionToken"];

/// The repository base URL and the list arguments the source URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OaiEndpoint {
    pub base: Url,
    pub metadata_prefix: Option<String>,
}

impl OaiEndpoint {
    pub fn parse(raw: &str) -> Result<Self, HarvestError> {
        let url = Url::parse(raw).map_err(|err| HarvestError::Protocol(format!("'{raw}' is not a URL: {err}")))?;
        let mut metadata_prefix = None;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter_map(|(name, value)| {
                if name == "metadataPrefix" {
                    metadata_prefix = Some(value.to_string()).filter(|v| !v.is_empty());
                }
                (!PROTOCOL_PARAMS.contains(&name.as_ref())).then(|| (name.to_string(), value.to_string()))
            })
            .collect();
        let mut base = url.clone();
        base.set_query(None);
        if !kept.is_empty() {
            base.query_pairs_mut().extend_pairs(kept);
        }
        Ok(Self { base, metadata_prefix })
    }

    /// The first request of a list.
    pub fn list_url(&self, prefix: &str, from: Option<&str>) -> String {
        let mut url = self.base.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("verb", "ListRecords");
            query.append_pair("metadataPrefix", prefix);
            if let Some(from) = from {
                query.append_pair("from", from);
            }
        }
        url.into()
    }

    /// A follow-up request: only the verb and the token (the protocol forbids other arguments).
    pub fn token_url(&self, token: &str) -> String {
        let mut url = self.base.clone();
        url.set_query(None);
        url.query_pairs_mut().append_pair("verb", "ListRecords").append_pair("resumptionToken", token);
        url.into()
    }
}

pub(super) async fn harvest(ctx: &mut HarvestContext<'_>) -> Result<Harvested, HarvestError> {
    let endpoint = OaiEndpoint::parse(&ctx.source.url)?;
    let previous = ctx.source.cursor.clone();
    let from = previous.harvested_since.map(|at| at.format("%Y-%m-%d").to_string());
    let started = Utc::now();
    let mut prefix = endpoint.metadata_prefix.clone().unwrap_or_else(|| "lom".to_string());
    let mut restarted = false;
    let (mut merged, documents) = 'list: loop {
        let mut merged = ParsedCatalog::default();
        let mut documents: Vec<Vec<u8>> = Vec::new();
        let mut tokens: HashSet<String> = HashSet::new();
        let mut url = endpoint.list_url(&prefix, from.as_deref());
        loop {
            if documents.len() >= MAX_PAGES {
                return Err(HarvestError::Protocol(format!("more than {MAX_PAGES} pages; the harvest stopped")));
            }
            let body = match ctx.get(&url, ACCEPT, None).await? {
                Fetched::Body(body) => body,
                Fetched::NotModified => {
                    return Err(HarvestError::Protocol(format!("{url} answered 304 to a request without validators")))
                }
            };
            let page = format!("page {}", documents.len() + 1);
            match ctx.parse(&body.body, page).await {
                Err(HarvestError::Catalog { error: CatalogError::OaiError { code, message }, page }) => {
                    if code == "badResumptionToken" && !documents.is_empty() && !restarted {
                        restarted = true;
                        ctx.diagnostics.push(Diagnostic::warning(
                            None,
                            format!("{page}: the repository refused the resumption token (badResumptionToken: {message}); the list was restarted from the beginning"),
                        ));
                        continue 'list;
                    }
                    if code == "cannotDisseminateFormat"
                        && documents.is_empty()
                        && endpoint.metadata_prefix.is_none()
                        && prefix == "lom"
                    {
                        prefix = "oai_dc".to_string();
                        ctx.diagnostics.push(Diagnostic::info(
                            None,
                            "the repository does not offer lom metadata; harvested oai_dc instead",
                        ));
                        continue 'list;
                    }
                    return Err(HarvestError::Catalog { page, error: CatalogError::OaiError { code, message } });
                }
                Err(other) => return Err(other),
                Ok(mut parsed) => {
                    let token = parsed.resumption_token.take().filter(|t| !t.trim().is_empty());
                    merge_into(&mut merged, parsed);
                    documents.push(body.body);
                    match token {
                        None => break 'list (merged, documents),
                        Some(token) => {
                            if !tokens.insert(token.clone()) {
                                return Err(HarvestError::Protocol(format!(
                                    "the repository sent the resumption token '{token}' twice; the list does not end"
                                )));
                            }
                            url = endpoint.token_url(&token);
                        }
                    }
                }
            }
        }
    };
    let cursor = HarvestCursor { harvested_since: Some(started), ..previous };
    let mode = if from.is_some() {
        if merged.resources.is_empty() && merged.deleted.is_empty() && merged.rejected == 0 {
            return Ok(Harvested::Unchanged { cursor });
        }
        IngestMode::Merge
    } else {
        // A full list is the whole catalog: records it marks deleted are simply not in it.
        let deleted: HashSet<String> = merged.deleted.drain(..).collect();
        merged.resources.retain(|r| !deleted.contains(&r.local_id));
        IngestMode::Replace
    };
    Ok(Harvested::Catalog(HarvestedCatalog { parsed: merged, mode, documents, cursor, pages: None }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_endpoint_keeps_set_and_prefix_and_drops_protocol_arguments() {
        let endpoint = OaiEndpoint::parse(
            "https://oai.example.net/oai?verb=ListRecords&metadataPrefix=oai_dc&set=history&from=2020-01-01",
        )
        .unwrap();
        assert_eq!(endpoint.metadata_prefix.as_deref(), Some("oai_dc"));
        assert_eq!(
            endpoint.list_url("oai_dc", Some("2025-03-01")),
            "https://oai.example.net/oai?set=history&verb=ListRecords&metadataPrefix=oai_dc&from=2025-03-01"
        );
        assert_eq!(
            endpoint.token_url("a/b+c"),
            "https://oai.example.net/oai?verb=ListRecords&resumptionToken=a%2Fb%2Bc"
        );
        let bare = OaiEndpoint::parse("https://oai.example.net/oai").unwrap();
        assert_eq!(bare.metadata_prefix, None);
        assert_eq!(bare.list_url("lom", None), "https://oai.example.net/oai?verb=ListRecords&metadataPrefix=lom");
    }
}
