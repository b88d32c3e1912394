//! Dynamic Registration grants (migration `0041_lti_dynamic_registration`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::any::AnyRow;

use super::{get, optional_time, parse_time, ts, SqlRegistry};
use crate::registry::registration_store::{
    RegistrationGrant, RegistrationKind, RegistrationStore, STALE_CLAIM_SECONDS,
};
use crate::registry::RegistryError;
use crate::resource::PublisherId;

fn to_grant(row: &AnyRow) -> Result<RegistrationGrant, RegistryError> {
    let publisher: Option<String> = get(row, "publisher")?;
    Ok(RegistrationGrant {
        token_hash: get(row, "token_hash")?,
        kind: RegistrationKind::parse(&get::<String>(row, "kind")?)?,
        publisher: publisher
            .map(|p| PublisherId::parse(&p).map_err(|err| RegistryError::Corrupt(err.to_string())))
            .transpose()?,
        name: get(row, "name")?,
        personal_data: get::<i64>(row, "personal_data")? != 0,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
        expires_at: parse_time(&get::<String>(row, "expires_at")?)?,
        claimed_at: optional_time(get(row, "claimed_at")?)?,
        completed_at: optional_time(get(row, "completed_at")?)?,
        registered_id: get(row, "registered_id")?,
    })
}

#[async_trait]
impl RegistrationStore for SqlRegistry {
    async fn insert_registration(&self, grant: &RegistrationGrant) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "INSERT INTO lti_registrations (token_hash, kind, publisher, name, personal_data, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&grant.token_hash)
                .bind(grant.kind.as_str())
                .bind(grant.publisher.as_ref().map(|p| p.as_str().to_string()))
                .bind(&grant.name)
                .bind(i64::from(grant.personal_data))
                .bind(ts(grant.created_at))
                .bind(ts(grant.expires_at))
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn registration(&self, token_hash: &str) -> Result<Option<RegistrationGrant>, RegistryError> {
        self.db
            .timed(async {
                let row = sqlx::query(
                    "SELECT token_hash, kind, publisher, name, personal_data, created_at, expires_at, claimed_at,
                            completed_at, registered_id
                     FROM lti_registrations WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(self.db.pool())
                .await?;
                row.as_ref().map(to_grant).transpose()
            })
            .await
    }

    async fn claim_registration(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, RegistryError> {
        let stale = now - Duration::seconds(STALE_CLAIM_SECONDS);
        self.db
            .timed(async {
                let changed = sqlx::query(
                    "UPDATE lti_registrations SET claimed_at = $2
                     WHERE token_hash = $1 AND completed_at IS NULL AND expires_at > $2
                       AND (claimed_at IS NULL OR claimed_at < $3)",
                )
                .bind(token_hash)
                .bind(ts(now))
                .bind(ts(stale))
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(changed == 1)
            })
            .await
    }

    async fn release_registration(&self, token_hash: &str) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "UPDATE lti_registrations SET claimed_at = NULL WHERE token_hash = $1 AND completed_at IS NULL",
                )
                .bind(token_hash)
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn complete_registration(&self, token_hash: &str, registered_id: &str) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query("UPDATE lti_registrations SET completed_at = $2, registered_id = $3 WHERE token_hash = $1")
                    .bind(token_hash)
                    .bind(ts(Utc::now()))
                    .bind(registered_id)
                    .execute(self.db.pool())
                    .await?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;

    fn grant(hash: &str, expires_in_minutes: i64) -> RegistrationGrant {
        let now = Utc::now();
        RegistrationGrant {
            token_hash: hash.to_string(),
            kind: RegistrationKind::Platform,
            publisher: None,
            name: Some("District Moodle".into()),
            personal_data: false,
            created_at: now,
            expires_at: now + Duration::minutes(expires_in_minutes),
            claimed_at: None,
            completed_at: None,
            registered_id: None,
        }
    }

    #[tokio::test]
    async fn test_a_grant_is_claimed_once_released_on_failure_and_completed_for_good() {
        for registry in registries().await {
            registry.insert_registration(&grant("a", 60)).await.unwrap();
            registry.insert_registration(&grant("expired", -1)).await.unwrap();
            let now = Utc::now();
            assert!(!registry.claim_registration("unknown", now).await.unwrap());
            assert!(!registry.claim_registration("expired", now).await.unwrap());
            assert!(registry.claim_registration("a", now).await.unwrap());
            assert!(!registry.claim_registration("a", now).await.unwrap(), "in use by another registration");
            registry.release_registration("a").await.unwrap();
            assert!(registry.claim_registration("a", now).await.unwrap(), "a failed registration gives it back");
            let later = now + Duration::seconds(STALE_CLAIM_SECONDS + 1);
            assert!(
                registry.claim_registration("a", later).await.unwrap(),
                "a claim left by a stopped process goes stale"
            );
            registry.complete_registration("a", "plt-1").await.unwrap();
            registry.release_registration("a").await.unwrap();
            assert!(!registry.claim_registration("a", now).await.unwrap(), "used for good");
            let stored = registry.registration("a").await.unwrap().unwrap();
            assert_eq!(stored.registered_id.as_deref(), Some("plt-1"));
            assert_eq!(stored.unusable_reason(now), Some("was already used"));
            let expired = registry.registration("expired").await.unwrap().unwrap();
            assert_eq!(expired.unusable_reason(now), Some("has expired"));
        }
    }
}
