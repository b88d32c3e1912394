//! LMS platforms, used launch nonces and deep-linking launches (migrations `0010_lti`,
//! `0040_stateless_logins`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::{get, optional_time, parse_time, to_json, ts, SqlRegistry};
use crate::registry::lti_store::{DeepLinkLaunch, LtiStore, Platform};
use crate::registry::RegistryError;

const PLATFORM_COLUMNS: &str =
    "id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at, deployments_open";

fn to_platform(row: &AnyRow) -> Result<Platform, RegistryError> {
    let deployments: String = get(row, "deployment_ids")?;
    Ok(Platform {
        id: get(row, "id")?,
        issuer: get(row, "issuer")?,
        client_id: get(row, "client_id")?,
        deployment_ids: serde_json::from_str(&deployments)
            .map_err(|err| RegistryError::Corrupt(format!("deployment ids: {err}")))?,
        auth_login_url: get(row, "auth_login_url")?,
        jwks_url: get(row, "jwks_url")?,
        token_url: get(row, "token_url")?,
        name: get(row, "name")?,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
        deployments_open: get::<i64>(row, "deployments_open")? != 0,
    })
}

impl SqlRegistry {
    async fn query_platforms(&self, filter: &str, values: &[&str]) -> Result<Vec<Platform>, RegistryError> {
        self.db
            .timed(async {
                let sql = format!("SELECT {PLATFORM_COLUMNS} FROM lti_platforms {filter} ORDER BY issuer, client_id");
                let mut query = sqlx::query(&sql);
                for value in values {
                    query = query.bind(*value);
                }
                let rows = query.fetch_all(self.db.pool()).await?;
                rows.iter().map(to_platform).collect()
            })
            .await
    }
}

#[async_trait]
impl LtiStore for SqlRegistry {
    async fn upsert_platform(&self, platform: &Platform) -> Result<Platform, RegistryError> {
        let deployments = to_json(&platform.deployment_ids)?;
        self.db
            .timed(async {
                sqlx::query(
                    "INSERT INTO lti_platforms (id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at, deployments_open)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (issuer, client_id) DO UPDATE SET
                       deployment_ids = excluded.deployment_ids, auth_login_url = excluded.auth_login_url,
                       jwks_url = excluded.jwks_url, token_url = excluded.token_url, name = excluded.name,
                       deployments_open = excluded.deployments_open",
                )
                .bind(&platform.id)
                .bind(&platform.issuer)
                .bind(&platform.client_id)
                .bind(&deployments)
                .bind(&platform.auth_login_url)
                .bind(&platform.jwks_url)
                .bind(&platform.token_url)
                .bind(&platform.name)
                .bind(ts(platform.created_at))
                .bind(i64::from(platform.deployments_open))
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await?;
        self.query_platforms("WHERE issuer = $1 AND client_id = $2", &[&platform.issuer, &platform.client_id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| RegistryError::Corrupt("platform vanished".into()))
    }

    async fn platforms(&self) -> Result<Vec<Platform>, RegistryError> {
        self.query_platforms("", &[]).await
    }

    async fn platform(&self, id: &str) -> Result<Option<Platform>, RegistryError> {
        Ok(self.query_platforms("WHERE id = $1", &[id]).await?.into_iter().next())
    }

    async fn platforms_by_issuer(&self, issuer: &str) -> Result<Vec<Platform>, RegistryError> {
        self.query_platforms("WHERE issuer = $1", &[issuer]).await
    }

    async fn add_deployment(&self, platform_id: &str, deployment_id: &str) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                let listed: Option<String> =
                    sqlx::query_scalar("SELECT deployment_ids FROM lti_platforms WHERE id = $1")
                        .bind(platform_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(listed) = listed else { return Ok(()) };
                let mut deployments: Vec<String> = serde_json::from_str(&listed)
                    .map_err(|err| RegistryError::Corrupt(format!("deployment ids: {err}")))?;
                if !deployments.iter().any(|d| d == deployment_id) {
                    deployments.push(deployment_id.to_string());
                    sqlx::query("UPDATE lti_platforms SET deployment_ids = $2 WHERE id = $1")
                        .bind(platform_id)
                        .bind(to_json(&deployments)?)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
    }

    async fn record_nonce(&self, nonce: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let inserted = sqlx::query(
                    "INSERT INTO lti_used_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
                )
                .bind(nonce)
                .bind(ts(expires_at))
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(inserted == 1)
            })
            .await
    }

    async fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "INSERT INTO lti_launches (id, platform_id, deployment_id, settings, created_at, expires_at, used_at, course_title, locale)
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)",
                )
                .bind(&launch.id)
                .bind(&launch.platform_id)
                .bind(&launch.deployment_id)
                .bind(&launch.settings_json)
                .bind(ts(launch.created_at))
                .bind(ts(launch.expires_at))
                .bind(&launch.course_title)
                .bind(&launch.locale)
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError> {
        self.db
            .timed(async {
                let row = sqlx::query(
                    "SELECT id, platform_id, deployment_id, settings, created_at, expires_at, used_at, course_title, locale
                     FROM lti_launches WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(DeepLinkLaunch {
                    id: get(&row, "id")?,
                    platform_id: get(&row, "platform_id")?,
                    deployment_id: get(&row, "deployment_id")?,
                    settings_json: get(&row, "settings")?,
                    course_title: get(&row, "course_title")?,
                    locale: get(&row, "locale")?,
                    created_at: parse_time(&get::<String>(&row, "created_at")?)?,
                    expires_at: parse_time(&get::<String>(&row, "expires_at")?)?,
                    used_at: optional_time(get(&row, "used_at")?)?,
                }))
            })
            .await
    }

    async fn consume_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let changed = sqlx::query(
                    "UPDATE lti_launches SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(id)
                .bind(ts(now))
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(changed == 1)
            })
            .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RegistryError> {
        self.db
            .timed(async {
                let now = ts(now);
                let mut purged = 0;
                // Brokered launches carry personal claims: they go as soon as they expire too.
                for table in ["lti_used_nonces", "lti_launches", "brokered_launches"] {
                    purged += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                        .bind(&now)
                        .execute(self.db.pool())
                        .await?
                        .rows_affected();
                }
                Ok(purged as usize)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;

    #[tokio::test]
    async fn test_nonces_are_recorded_once_and_forgotten_when_expired() {
        for registry in registries().await {
            let later = Utc::now() + chrono::Duration::minutes(10);
            assert!(registry.record_nonce("n1", later).await.unwrap());
            assert!(!registry.record_nonce("n1", later).await.unwrap(), "a nonce is used once");
            assert!(registry.record_nonce("old", Utc::now() - chrono::Duration::minutes(1)).await.unwrap());
            assert_eq!(registry.purge_expired(Utc::now()).await.unwrap(), 1, "only the expired one goes");
            assert!(!registry.record_nonce("n1", later).await.unwrap(), "an unexpired nonce stays");
        }
    }

    #[tokio::test]
    async fn test_platforms_upsert_by_issuer_and_client_id() {
        for registry in registries().await {
            let platform = Platform {
                id: "p1".into(),
                issuer: "https://lms.example".into(),
                client_id: "c1".into(),
                deployment_ids: vec!["d1".into()],
                auth_login_url: "https://lms.example/auth".into(),
                jwks_url: "https://lms.example/jwks".into(),
                token_url: None,
                name: Some("LMS".into()),
                created_at: Utc::now(),
                deployments_open: false,
            };
            registry.upsert_platform(&platform).await.unwrap();
            let again = Platform { id: "other-id".into(), deployment_ids: vec!["d1".into(), "d2".into()], ..platform };
            let saved = registry.upsert_platform(&again).await.unwrap();
            assert_eq!(saved.id, "p1", "same issuer and client id: the same platform, updated");
            assert_eq!(saved.deployment_ids, vec!["d1", "d2"]);
            assert_eq!(registry.platforms().await.unwrap().len(), 1);
            assert_eq!(registry.platforms_by_issuer("https://lms.example").await.unwrap().len(), 1);
            assert!(registry.platform("p1").await.unwrap().is_some());

            // An open platform records the deployments that launch, each once.
            let open = Platform { deployment_ids: vec![], deployments_open: true, ..saved };
            assert!(registry.upsert_platform(&open).await.unwrap().deployments_open);
            registry.add_deployment("p1", "d7").await.unwrap();
            registry.add_deployment("p1", "d7").await.unwrap();
            registry.add_deployment("p1", "d8").await.unwrap();
            registry.add_deployment("unknown", "d9").await.unwrap();
            assert_eq!(registry.platform("p1").await.unwrap().unwrap().deployment_ids, vec!["d7", "d8"]);
        }
    }

    #[tokio::test]
    async fn test_launches_are_consumed_once_and_not_after_expiry() {
        for registry in registries().await {
            let now = Utc::now();
            let launch = |id: &str, minutes: i64| DeepLinkLaunch {
                course_title: Some("Grade 3 Mathematics".to_string()),
                locale: Some("es_MX".to_string()),
                id: id.into(),
                platform_id: "p1".into(),
                deployment_id: "d1".into(),
                settings_json: "{\"accept_multiple\":true}".into(),
                created_at: now,
                expires_at: now + chrono::Duration::minutes(minutes),
                used_at: None,
            };
            registry.insert_launch(&launch("l1", 60)).await.unwrap();
            registry.insert_launch(&launch("l2", -1)).await.unwrap();
            let stored = registry.launch("l1").await.unwrap().unwrap();
            assert_eq!(stored.settings_json, "{\"accept_multiple\":true}");
            assert_eq!(stored.course_title.as_deref(), Some("Grade 3 Mathematics"), "the picker's starting point");
            assert_eq!(stored.locale.as_deref(), Some("es_MX"));
            assert!(registry.consume_launch("l1", Utc::now()).await.unwrap());
            assert!(!registry.consume_launch("l1", Utc::now()).await.unwrap(), "once");
            assert!(registry.launch("l1").await.unwrap().unwrap().used_at.is_some());
            assert!(!registry.consume_launch("l2", Utc::now()).await.unwrap(), "expired");
        }
    }
}
