//! Data folders from before the catalog log kept the documents publishers sent in
//! `<data>/catalogs/<publisher>/<source>/<sequence>.<mode>.<format>`. At the first start with
//! the log, they are appended to it in that order (their index already holds them, so it is
//! marked as having applied them), and the folder is renamed `catalogs.imported`.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::error::AppError;
use crate::registry::{CatalogLog, NewIngest, Registry};
use crate::resource::{CatalogFormat, IngestMode, PublisherId};
use crate::search::SearchBackend;

/// One archived document, in the order it must be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedDocument {
    pub publisher: PublisherId,
    pub source_id: String,
    pub mode: IngestMode,
    pub format: CatalogFormat,
    pub path: PathBuf,
}

pub struct CatalogArchive {
    root: PathBuf,
}

impl CatalogArchive {
    pub fn new(data_dir: &Path) -> Self {
        Self { root: data_dir.join("catalogs") }
    }

    /// Every archived document, publisher by publisher, source by source, in sending order.
    pub fn documents(&self) -> std::io::Result<Vec<ArchivedDocument>> {
        let mut out = Vec::new();
        if !self.root.exists() {
            return Ok(out);
        }
        for publisher_dir in sorted_dirs(&self.root)? {
            let Some(publisher) = file_name(&publisher_dir).and_then(|n| PublisherId::parse(&n).ok()) else {
                continue;
            };
            for source_dir in sorted_dirs(&publisher_dir)? {
                let Some(source_id) = file_name(&source_dir) else {
                    continue;
                };
                for path in sorted_files(&source_dir)? {
                    let Some(name) = file_name(&path) else {
                        continue;
                    };
                    let parts: Vec<&str> = name.split('.').collect();
                    let (mode, format) = match parts.as_slice() {
                        [_, "replace", format] => (IngestMode::Replace, CatalogFormat::parse(format)),
                        [_, "merge", format] => (IngestMode::Merge, CatalogFormat::parse(format)),
                        _ => continue,
                    };
                    let Some(format) = format else { continue };
                    out.push(ArchivedDocument {
                        publisher: publisher.clone(),
                        source_id: source_id.clone(),
                        mode,
                        format,
                        path,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Appends the archive of a data folder from before the catalog log to the (empty) log;
/// answers how many documents it appended. Documents of publishers the registry no longer
/// knows are left out.
pub async fn import(
    data_dir: &Path,
    registry: &dyn Registry,
    log: &dyn CatalogLog,
    backend: &dyn SearchBackend,
) -> Result<usize, AppError> {
    let archive = CatalogArchive::new(data_dir);
    if !archive.root.exists() || log.head().await? > 0 {
        return Ok(0);
    }
    let listing = CatalogArchive::new(data_dir);
    let documents = tokio::task::spawn_blocking(move || listing.documents())
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let mut imported = 0;
    for document in documents {
        if registry.publisher(&document.publisher).await?.is_none() {
            continue;
        }
        let bytes = tokio::fs::read(&document.path).await.map_err(AppError::internal)?;
        let ingest = NewIngest {
            publisher: &document.publisher,
            source_id: &document.source_id,
            format: document.format,
            mode: document.mode,
            documents: vec![bytes],
            lease_owner: None,
        };
        if log.append_ingest(ingest).await?.is_some() {
            imported += 1;
        }
    }
    let head = log.head().await?;
    if head > 0 && backend.applied_position().is_none() && backend.num_resources() > 0 {
        // The index was built from these very documents.
        backend.mark_applied(head).await?;
    }
    let imported_dir = data_dir.join(format!("catalogs.imported-{}", Utc::now().format("%Y%m%d%H%M%S")));
    std::fs::rename(&archive.root, &imported_dir).map_err(AppError::internal)?;
    tracing::info!(documents = imported, kept_in = %imported_dir.display(), "archived catalogs moved into the catalog log");
    Ok(imported)
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().and_then(|n| n.to_str()).map(str::to_string)
}

fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn sorted_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && !path.to_string_lossy().ends_with(".partial") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archived(root: &Path, publisher: &str, source: &str, name: &str, body: &str) {
        let dir = root.join("catalogs").join(publisher).join(source);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), body).unwrap();
    }

    #[test]
    fn test_archived_documents_are_listed_in_sending_order() {
        let dir = tempfile::tempdir().unwrap();
        archived(dir.path(), "acme", "push-lrmi", "00000001.replace.lrmi", "two");
        archived(dir.path(), "acme", "oai", "00000001.merge.oai_pmh", "p1");
        archived(dir.path(), "acme", "oai", "00000002.merge.oai_pmh", "p2");
        archived(dir.path(), "acme", "oai", "00000003.merge.oai_pmh.partial", "unfinished");
        let documents = CatalogArchive::new(dir.path()).documents().unwrap();
        let contents: Vec<String> =
            documents.iter().map(|d| String::from_utf8(std::fs::read(&d.path).unwrap()).unwrap()).collect();
        assert_eq!(contents, vec!["p1", "p2", "two"]);
        assert_eq!(documents[0].mode, IngestMode::Merge);
        assert_eq!(documents[2].format, CatalogFormat::Lrmi);
    }
}
