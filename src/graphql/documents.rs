//! Parsed query documents, remembered by their text.
//!
//! An LMS plugin sends the same few query texts over and over with different variables, and
//! parsing one (async-graphql's PEG parser) and checking its shape again on every request was
//! 5.5% of the serving CPU under the peer kit's mix (BENCHMARKS.md, issue 14). Only the document is remembered, as GraphQL servers
//! cache parsed documents: every request is still validated against its own variables, costed
//! and executed.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use moka::future::Cache;

use super::limits;
use crate::error::AppError;

/// Texts longer than this are parsed every time: a plugin's searches are a few hundred bytes,
/// and one huge text must not push every plugin's out.
const MAX_REMEMBERED_TEXT: usize = 16 * 1024;

/// Bytes of query text remembered in all (the documents themselves are a small multiple).
const REMEMBERED_BYTES: u64 = 2 * 1024 * 1024;

/// Query texts that parsed and passed [`limits::check_document`], with their documents.
#[derive(Clone)]
pub struct ParsedDocuments {
    documents: Cache<Arc<str>, Arc<ExecutableDocument>>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        let documents = Cache::builder()
            .max_capacity(REMEMBERED_BYTES)
            .weigher(|text: &Arc<str>, _: &Arc<ExecutableDocument>| u32::try_from(text.len()).unwrap_or(u32::MAX))
            .build();
        Self { documents }
    }
}

impl ParsedDocuments {
    /// The checked document of `text`: remembered, or parsed and checked now. A text that does
    /// not parse or fails the shape limits is never remembered, so it gets its error each time.
    pub async fn get(&self, text: &str) -> Result<ExecutableDocument, AppError> {
        if let Some(document) = self.documents.get(text).await {
            return Ok(ExecutableDocument::clone(&document));
        }
        let document = limits::parse(text)?;
        limits::check_document(&document).map_err(AppError::from)?;
        if text.len() <= MAX_REMEMBERED_TEXT {
            self.documents.insert(Arc::from(text), Arc::new(document.clone())).await;
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[tokio::test]
    async fn test_a_remembered_document_equals_a_fresh_parse() {
        let documents = ParsedDocuments::default();
        let text = "query Search($q: String) { search(query: $q, first: 3) { totalCount } }";
        let first = documents.get(text).await.unwrap();
        documents.documents.run_pending_tasks().await;
        assert_eq!(documents.documents.entry_count(), 1);
        let second = documents.get(text).await.unwrap();
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        assert_eq!(format!("{second:?}"), format!("{:?}", limits::parse(text).unwrap()));
    }

    #[tokio::test]
    async fn test_refused_texts_are_refused_every_time_and_never_remembered() {
        let documents = ParsedDocuments::default();
        let deep = format!("{{ {} }}", "search { edges { node { ".repeat(20));
        for text in ["{ search(", "{ __typename } fragment A on Query { ...A }", deep.as_str()] {
            for _ in 0..2 {
                let err = documents.get(text).await.unwrap_err();
                assert!(matches!(err.code, ErrorCode::BadUserInput | ErrorCode::QueryTooComplex), "{text}: {err:?}");
            }
        }
        documents.documents.run_pending_tasks().await;
        assert_eq!(documents.documents.entry_count(), 0);
    }
}
