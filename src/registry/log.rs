//! The catalog log: every change to the catalogs the gateway accepted, in order — documents
//! ingested for a source (with whether they replace its set or merge into it), a source
//! removed, a publisher removed. Indexes are derived from it: each replica applies the log, in
//! order, to its own index, and a new replica (or one whose index was deleted) catches up by
//! applying it from the start.
//!
//! Appending is where rights over the registry are fenced: an ingest is logged only while its
//! publisher (and its feed, for a harvest) is registered, in the same transaction that checks
//! it, and removing a publisher deletes it from the registry and logs the removal in one
//! transaction. So no ingest can be logged after its publisher's removal, on any replica.
//!
//! Entries a later one supersedes (a replace or a removal of the same source, a removal of the
//! publisher) are deleted when it is appended: the log holds what a new replica needs, not the
//! whole history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{DeletedPublisher, RegistryError};
use crate::resource::{CatalogFormat, IngestMode, PublisherId};

/// What one entry changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// Catalog documents for a source, applied in one commit.
    Ingest { format: CatalogFormat, mode: IngestMode },
    /// Every resource of a source out.
    RemoveSource,
    /// Every resource, and the packaged content, of a publisher out.
    RemovePublisher,
}

/// An entry without its documents (cheap to list; the documents are read when applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the log: strictly increasing in commit order, never reused.
    pub seq: u64,
    pub publisher: PublisherId,
    /// The source, for ingests and source removals.
    pub source_id: Option<String>,
    pub kind: LogKind,
    pub created_at: DateTime<Utc>,
}

impl LogEntry {
    /// Whether `later` makes this entry irrelevant to the resulting index (so a replica
    /// catching up may skip it): the same source replaced or removed, or the publisher removed.
    pub fn superseded_by(&self, later: &LogEntry) -> bool {
        if later.seq <= self.seq || later.publisher != self.publisher {
            return false;
        }
        match later.kind {
            LogKind::RemovePublisher => true,
            LogKind::RemoveSource | LogKind::Ingest { mode: IngestMode::Replace, .. } => {
                self.source_id.is_some() && self.source_id == later.source_id
            }
            LogKind::Ingest { mode: IngestMode::Merge, .. } => false,
        }
    }
}

/// An ingest to log.
#[derive(Debug, Clone)]
pub struct NewIngest<'a> {
    pub publisher: &'a PublisherId,
    pub source_id: &'a str,
    pub format: CatalogFormat,
    pub mode: IngestMode,
    /// The documents as accepted; applied together, in this order.
    pub documents: Vec<Vec<u8>>,
    /// Set for a harvest: the feed must still be registered and leased to this replica (one
    /// whose lease ran out while it worked cannot log over the replica that took over).
    pub lease_owner: Option<&'a str>,
}

/// What removing a publisher took out of the registry, and where its removal is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedRemoval {
    pub deleted: DeletedPublisher,
    pub seq: u64,
}

/// The catalog log's storage.
#[async_trait]
pub trait CatalogLog: Send + Sync {
    /// Logs an ingest, unless the publisher (or, for a harvest, the feed or its lease) is no
    /// longer there: then `None` and nothing is logged.
    async fn append_ingest(&self, ingest: NewIngest<'_>) -> Result<Option<u64>, RegistryError>;
    /// Deletes a publisher and everything registered under it and logs its removal, in one
    /// transaction. `None` when there was no such publisher (nothing is logged). Refused with
    /// [`RegistryError::Conflict`] while one of its feeds is leased by a running harvest.
    async fn remove_publisher(
        &self,
        publisher: &PublisherId,
        now: DateTime<Utc>,
    ) -> Result<Option<LoggedRemoval>, RegistryError>;
    /// Logs a publisher's removal without touching the registry: for resources of a publisher
    /// the registry no longer knows (left by a removal that was interrupted before the catalog
    /// log existed).
    async fn log_publisher_removal(&self, publisher: &PublisherId, now: DateTime<Utc>) -> Result<u64, RegistryError>;
    /// Logs the removal of a source's resources; with `feed`, also deletes its registration
    /// and run history in the same transaction (refused with [`RegistryError::Conflict`] while
    /// a harvest holds its lease).
    async fn remove_source(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        feed: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, RegistryError>;
    /// The position of the newest entry (0 for an empty log).
    async fn head(&self) -> Result<u64, RegistryError>;
    /// Entries after `seq`, oldest first, at most `limit`.
    async fn entries_after(&self, seq: u64, limit: usize) -> Result<Vec<LogEntry>, RegistryError>;
    /// The documents of an ingest entry; `None` when the entry was superseded and deleted since
    /// it was listed.
    async fn documents(&self, seq: u64) -> Result<Option<Vec<Vec<u8>>>, RegistryError>;
}

/// How documents are kept: length-framed, then zstd-compressed (catalogs compress about tenfold).
pub fn encode_documents(documents: &[Vec<u8>]) -> Result<Vec<u8>, RegistryError> {
    let mut framed = Vec::with_capacity(documents.iter().map(|d| d.len() + 8).sum());
    for document in documents {
        framed.extend_from_slice(&(document.len() as u64).to_le_bytes());
        framed.extend_from_slice(document);
    }
    zstd::encode_all(framed.as_slice(), 1).map_err(|err| RegistryError::Storage(format!("compressing: {err}")))
}

pub fn decode_documents(stored: &[u8]) -> Result<Vec<Vec<u8>>, RegistryError> {
    let framed =
        zstd::decode_all(stored).map_err(|err| RegistryError::Corrupt(format!("catalog log documents: {err}")))?;
    let mut documents = Vec::new();
    let mut rest = framed.as_slice();
    while !rest.is_empty() {
        let (length, tail) =
            rest.split_at_checked(8).ok_or_else(|| RegistryError::Corrupt("truncated frame".into()))?;
        let length = u64::from_le_bytes(length.try_into().map_err(|_| RegistryError::Corrupt("frame".into()))?);
        let length = usize::try_from(length).map_err(|_| RegistryError::Corrupt("frame length".into()))?;
        let (document, tail) =
            tail.split_at_checked(length).ok_or_else(|| RegistryError::Corrupt("truncated document".into()))?;
        documents.push(document.to_vec());
        rest = tail;
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, publisher: &str, source: Option<&str>, kind: LogKind) -> LogEntry {
        LogEntry {
            seq,
            publisher: PublisherId::parse(publisher).unwrap(),
            source_id: source.map(str::to_string),
            kind,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn test_documents_round_trip_including_empty_ones() {
        let documents = vec![b"<a/>".to_vec(), Vec::new(), vec![0u8; 100_000]];
        let stored = encode_documents(&documents).unwrap();
        assert!(stored.len() < 1000, "compressed");
        assert_eq!(decode_documents(&stored).unwrap(), documents);
        assert!(decode_documents(b"not zstd").is_err());
    }

    #[test]
    fn test_what_supersedes_an_entry() {
        let replace = LogKind::Ingest { format: CatalogFormat::Lrmi, mode: IngestMode::Replace };
        let merge = LogKind::Ingest { format: CatalogFormat::OaiPmh, mode: IngestMode::Merge };
        let first = entry(1, "acme", Some("s"), merge);
        assert!(first.superseded_by(&entry(2, "acme", Some("s"), replace)));
        assert!(first.superseded_by(&entry(2, "acme", Some("s"), LogKind::RemoveSource)));
        assert!(first.superseded_by(&entry(2, "acme", None, LogKind::RemovePublisher)));
        assert!(!first.superseded_by(&entry(2, "acme", Some("s"), merge)), "a merge builds on it");
        assert!(!first.superseded_by(&entry(2, "acme", Some("other"), replace)));
        assert!(!first.superseded_by(&entry(2, "other", Some("s"), LogKind::RemovePublisher)));
        assert!(!entry(3, "acme", Some("s"), replace).superseded_by(&entry(2, "acme", Some("s"), replace)));
        let removal = entry(1, "acme", None, LogKind::RemovePublisher);
        assert!(removal.superseded_by(&entry(2, "acme", None, LogKind::RemovePublisher)));
        assert!(!removal.superseded_by(&entry(2, "acme", Some("s"), replace)), "a removal stays for later sources");
    }
}
