//! Harvesting a catalog that is one document at a URL (Common Cartridge manifest or `.imscc`,
//! LRMI JSON-LD): a conditional GET, and a re-index only when the content changed.

use super::{content_hash, HarvestContext, HarvestError, Harvested, HarvestedCatalog};
use crate::harvest::fetch::{Fetched, Validators};
use crate::registry::HarvestCursor;
use crate::resource::IngestMode;

/// What the gateway accepts for these formats.
const ACCEPT: &str = "application/ld+json, application/json, application/xml, text/xml, application/zip, */*;q=0.5";

pub(super) async fn harvest(ctx: &mut HarvestContext<'_>) -> Result<Harvested, HarvestError> {
    let previous = ctx.source.cursor.clone();
    let validators = Validators { etag: previous.etag.clone(), last_modified: previous.last_modified.clone() };
    let url = ctx.source.url.clone();
    let body = match ctx.get(&url, ACCEPT, Some(&validators)).await? {
        Fetched::NotModified => return Ok(Harvested::Unchanged { cursor: previous }),
        Fetched::Body(body) => body,
    };
    let fresh = Validators::of(&body.headers);
    let cursor = HarvestCursor {
        etag: fresh.etag,
        last_modified: fresh.last_modified,
        content_hash: Some(content_hash([body.body.as_slice()])),
        harvested_since: previous.harvested_since,
    };
    if cursor.content_hash.is_some() && cursor.content_hash == previous.content_hash {
        return Ok(Harvested::Unchanged { cursor });
    }
    let parsed = ctx.parse(&body.body, url.clone()).await?;
    Ok(Harvested::Catalog(HarvestedCatalog {
        parsed,
        mode: IngestMode::Replace,
        documents: vec![body.body],
        cursor,
        pages: None,
    }))
}
