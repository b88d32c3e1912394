//! The picker's stylesheet and script, served by the gateway itself under names that carry a
//! hash of their content, so browsers may keep them for a year and never use a stale one.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One served file.
pub struct Asset {
    /// `picker-<hash>.css`: the last segment of its URL.
    pub name: String,
    pub content_type: &'static str,
    pub body: &'static str,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, body: &'static str) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let hash = hex::encode(&digest[..6]);
        Self { name: format!("{stem}-{hash}.{extension}"), content_type, body }
    }

    pub fn url(&self) -> String {
        format!("{ASSET_PREFIX}{}", self.name)
    }
}

/// Where the assets are served (`GET /lti/picker/assets/{name}`).
pub const ASSET_PREFIX: &str = "/lti/picker/assets/";

pub static STYLESHEET: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("picker", "css", "text/css; charset=utf-8", include_str!("assets/picker.css")));
pub static SCRIPT: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("picker", "js", "text/javascript; charset=utf-8", include_str!("assets/picker.js")));

/// The asset of that name, if it is one of the current ones.
pub fn find(name: &str) -> Option<&'static Asset> {
    [&*STYLESHEET, &*SCRIPT].into_iter().find(|asset| asset.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_asset_names_carry_their_hash() {
        assert!(STYLESHEET.name.starts_with("picker-") && STYLESHEET.name.ends_with(".css"));
        assert_eq!(find(&SCRIPT.name).map(|a| a.content_type), Some("text/javascript; charset=utf-8"));
        assert!(find("picker.css").is_none(), "only hashed names");
    }
}
