//! The catalog documents publishers sent, kept in the data folder so that the index can be
//! rebuilt from them when its schema changes (the index is derived data; these are not).
//!
//! Layout: `<data>/catalogs/<publisher>/<source>/<sequence>.<mode>.<format>`. A replacing
//! document clears its source's folder; a merging one is appended after the others.

use std::path::{Path, PathBuf};

use crate::index::IngestMode;
use crate::resource::{CatalogFormat, PublisherId};

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

    /// Keeps a document that was applied to the index.
    pub fn store(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        mode: IngestMode,
        format: CatalogFormat,
        document: &[u8],
    ) -> std::io::Result<()> {
        let dir = self.root.join(publisher.as_str()).join(source_id);
        if mode == IngestMode::Replace && dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let next = sorted_files(&dir)?.len() + 1;
        let mode_name = match mode {
            IngestMode::Replace => "replace",
            IngestMode::Merge => "merge",
        };
        let name = format!("{next:08}.{mode_name}.{}", format.as_param());
        let temporary = dir.join(format!("{name}.partial"));
        std::fs::write(&temporary, document)?;
        std::fs::rename(&temporary, dir.join(name))
    }

    /// Keeps the current version of one part of a source's catalog (a sitemap page), under a
    /// name derived from `key` (its URL): a newer version replaces it, [`Self::remove_part`]
    /// forgets it. Parts are merges, replayed in name order after the numbered documents.
    pub fn store_part(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        key: &str,
        format: CatalogFormat,
        document: &[u8],
    ) -> std::io::Result<()> {
        let dir = self.root.join(publisher.as_str()).join(source_id);
        std::fs::create_dir_all(&dir)?;
        let name = part_name(key, format);
        let temporary = dir.join(format!("{name}.partial"));
        std::fs::write(&temporary, document)?;
        std::fs::rename(&temporary, dir.join(name))
    }

    /// Forgets one part stored with [`Self::store_part`]; answers whether it was there.
    pub fn remove_part(
        &self,
        publisher: &PublisherId,
        source_id: &str,
        key: &str,
        format: CatalogFormat,
    ) -> std::io::Result<bool> {
        let path = self.root.join(publisher.as_str()).join(source_id).join(part_name(key, format));
        match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Forgets a source's documents; answers whether there were any.
    pub fn remove_source(&self, publisher: &PublisherId, source_id: &str) -> std::io::Result<bool> {
        remove_dir_if_present(&self.root.join(publisher.as_str()).join(source_id))
    }

    /// Forgets every document of a publisher; answers whether there were any.
    pub fn remove_publisher(&self, publisher: &PublisherId) -> std::io::Result<bool> {
        remove_dir_if_present(&self.root.join(publisher.as_str()))
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

/// `part-<hash of key>.merge.<format>`: sorts after the numbered documents, parses as a merge.
fn part_name(key: &str, format: CatalogFormat) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("part-{hex}.merge.{}", format.as_param())
}

/// Removes a folder and everything in it; answers whether it was there.
pub fn remove_dir_if_present(dir: &Path) -> std::io::Result<bool> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
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

    #[test]
    fn test_replace_clears_the_source_and_merge_appends_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let archive = CatalogArchive::new(dir.path());
        let publisher = PublisherId::parse("acme").unwrap();
        archive.store(&publisher, "push-lrmi", IngestMode::Replace, CatalogFormat::Lrmi, b"one").unwrap();
        archive.store(&publisher, "push-lrmi", IngestMode::Replace, CatalogFormat::Lrmi, b"two").unwrap();
        archive.store(&publisher, "oai", IngestMode::Merge, CatalogFormat::OaiPmh, b"p1").unwrap();
        archive.store(&publisher, "oai", IngestMode::Merge, CatalogFormat::OaiPmh, b"p2").unwrap();
        let documents = archive.documents().unwrap();
        let contents: Vec<String> =
            documents.iter().map(|d| String::from_utf8(std::fs::read(&d.path).unwrap()).unwrap()).collect();
        assert_eq!(contents, vec!["p1", "p2", "two"]);
        assert_eq!(documents[0].mode, IngestMode::Merge);
        assert_eq!(documents[2].format, CatalogFormat::Lrmi);
        assert!(archive.remove_source(&publisher, "oai").unwrap());
        assert!(!archive.remove_source(&publisher, "oai").unwrap());
        let left: Vec<String> = archive.documents().unwrap().into_iter().map(|d| d.source_id).collect();
        assert_eq!(left, vec!["push-lrmi"]);
        assert!(archive.remove_publisher(&publisher).unwrap());
        assert!(archive.documents().unwrap().is_empty());
        assert!(!archive.remove_publisher(&publisher).unwrap());
    }

    #[test]
    fn test_parts_are_replaced_and_removed_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let archive = CatalogArchive::new(dir.path());
        let publisher = PublisherId::parse("acme").unwrap();
        let (page_a, page_b) = ("https://acme.example/a", "https://acme.example/b");
        archive.store_part(&publisher, "site", page_a, CatalogFormat::Sitemap, b"a1").unwrap();
        archive.store_part(&publisher, "site", page_b, CatalogFormat::Sitemap, b"b1").unwrap();
        archive.store_part(&publisher, "site", page_a, CatalogFormat::Sitemap, b"a2").unwrap();
        let read = |archive: &CatalogArchive| -> Vec<String> {
            let mut contents: Vec<String> = archive
                .documents()
                .unwrap()
                .iter()
                .map(|d| {
                    assert_eq!((d.mode, d.format), (IngestMode::Merge, CatalogFormat::Sitemap));
                    String::from_utf8(std::fs::read(&d.path).unwrap()).unwrap()
                })
                .collect();
            contents.sort();
            contents
        };
        assert_eq!(read(&archive), ["a2", "b1"]);
        assert!(archive.remove_part(&publisher, "site", page_b, CatalogFormat::Sitemap).unwrap());
        assert!(!archive.remove_part(&publisher, "site", page_b, CatalogFormat::Sitemap).unwrap());
        assert_eq!(read(&archive), ["a2"]);
    }
}
