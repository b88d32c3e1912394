//! The bundled sample catalogs: loaded into an empty database, once (with several replicas,
//! the first to claim it loads them; the others find them in the catalog log).

use chrono::Utc;

use super::{Accepted, IngestService};
use crate::catalog;
use crate::error::AppError;
use crate::registry::Publisher;
use crate::resource::{IngestMode, PublisherId};
use crate::samples::SAMPLES;

const SAMPLES_LOADED: &str = "samples_loaded";

impl IngestService {
    /// Loads the samples when the database has no publishers and no catalogs yet.
    pub async fn load_samples_if_empty(&self) -> Result<(), AppError> {
        if self.registry.meta(SAMPLES_LOADED).await?.is_some() {
            return Ok(());
        }
        let empty = self.registry.publishers().await?.is_empty() && self.log.head().await? == 0;
        if !empty || !self.registry.claim_meta(SAMPLES_LOADED, &Utc::now().to_rfc3339()).await? {
            return Ok(());
        }
        for sample in SAMPLES {
            let id = PublisherId::parse(sample.id).map_err(|err| AppError::internal(err.to_string()))?;
            let publisher = Publisher {
                id: id.clone(),
                name: sample.name.to_string(),
                homepage: Some(sample.homepage.to_string()),
                created_at: Utc::now(),
            };
            self.publishers.register_keyless(&publisher).await?;
            let documents: Vec<Vec<u8>> = sample.documents.iter().map(|(_, bytes)| bytes.to_vec()).collect();
            let (format, limits) = (sample.format, self.limits);
            let parsing = documents.clone();
            // The sample set is complete, so later pages' deletions apply to earlier pages.
            let parsed = tokio::task::spawn_blocking(move || catalog::parse_documents(format, &parsing, true, &limits))
                .await
                .map_err(AppError::internal)?;
            if let Err(err) = &parsed {
                tracing::error!(publisher = sample.id, error = %err, "a bundled sample catalog does not parse");
            }
            let source_id = format!("samples-{}", sample.format.as_param().replace('_', "-"));
            let report = self
                .accept(Accepted {
                    publisher: id,
                    source_id,
                    format,
                    mode: IngestMode::Replace,
                    documents,
                    parsed,
                    lease_owner: None,
                })
                .await?;
            tracing::info!(publisher = sample.id, added = report.added, "loaded sample catalog");
        }
        Ok(())
    }
}
