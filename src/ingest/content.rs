//! Web content packed in uploaded cartridges (pages, PDFs, images): unpacked into the data
//! folder under `content/<publisher>/<source>/`, one folder per source so that removing a
//! source takes its pages with it, and served at `/content/…`. Every replica unpacks its own
//! copy when it applies the catalog log, so any replica serves any link.

use std::path::{Path, PathBuf};

use crate::catalog::PackagedFile;
use crate::resource::PublisherId;

#[derive(Debug, Clone)]
pub struct ContentFiles {
    root: PathBuf,
    /// `<public URL>`, without trailing slash.
    public_url: String,
}

impl ContentFiles {
    pub fn new(root: PathBuf, public_url: String) -> Self {
        Self { root, public_url }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn source_dir(&self, publisher: &PublisherId, source_id: &str) -> PathBuf {
        self.root.join(publisher.as_str()).join(source_id)
    }

    /// Where packed web content of a publisher's source is served.
    pub fn url(&self, publisher: &PublisherId, source_id: &str, path: &str) -> String {
        let encoded: Vec<String> = path
            .split('/')
            .map(|segment| {
                url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
            })
            .collect();
        format!("{}/content/{}/{}/{}", self.public_url, publisher, source_id, encoded.join("/"))
    }

    /// Unpacks a cartridge's files (blocking). Paths with empty, `.` or `..` segments are
    /// skipped: the parser refused them already, this keeps it so.
    pub fn store(&self, publisher: &PublisherId, source_id: &str, files: &[PackagedFile]) -> std::io::Result<()> {
        let root = self.source_dir(publisher, source_id);
        for file in files {
            if file.path.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
                continue;
            }
            let target = root.join(&file.path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let temporary = target.with_extension("partial-upload");
            std::fs::write(&temporary, &file.bytes)?;
            std::fs::rename(&temporary, &target)?;
        }
        Ok(())
    }

    /// Forgets a source's files (blocking); answers whether there were any.
    pub fn remove_source(&self, publisher: &PublisherId, source_id: &str) -> std::io::Result<bool> {
        remove_dir_if_present(&self.source_dir(publisher, source_id))
    }

    /// Forgets every file of a publisher (blocking); answers whether there were any.
    pub fn remove_publisher(&self, publisher: &PublisherId) -> std::io::Result<bool> {
        remove_dir_if_present(&self.root.join(publisher.as_str()))
    }
}

/// Removes a folder and everything in it; answers whether it was there.
pub fn remove_dir_if_present(dir: &Path) -> std::io::Result<bool> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}
