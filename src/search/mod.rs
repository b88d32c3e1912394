//! Searching, independent of the engine that runs it.
//!
//! - [`request`]: what a search asks and answers.
//! - [`backend`]: the [`SearchBackend`] trait an index implements (search, get, apply the
//!   catalog log's changes, counts); the tantivy one is [`crate::index::TantivyBackend`].
//! - [`live`]: the [`LiveFederation`] trait of live fan-out to publishers' endpoints
//!   ([`crate::federation::LiveSearch`]).
//! - [`service`]: [`SearchService`], what GraphQL and the picker call: limits, the index and
//!   the live sources merged, resources by id (live hits too, remembered in the registry).

pub mod backend;
pub mod live;
pub mod request;
pub mod service;

pub use backend::{ChangeCounts, IndexChange, IngestBatch, SearchBackend, SearchError};
pub use live::{LiveFederation, LiveReport, LiveResults, LiveState};
pub use request::{Dimension, FacetValues, Filter, Highlight, SearchHit, SearchRequest, SearchResults, Sort};
pub use service::{FederatedResults, SearchService, SourceReport};
