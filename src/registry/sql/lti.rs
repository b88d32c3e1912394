//! LMS platforms, OIDC login states and deep-linking launches (migration `0010_lti`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::{count, get, optional_time, parse_time, to_json, ts, SqlRegistry};
use crate::registry::lti_store::{DeepLinkLaunch, LoginState, LtiStore, Platform};
use crate::registry::RegistryError;

const PLATFORM_COLUMNS: &str =
    "id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at";

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
                    "INSERT INTO lti_platforms (id, issuer, client_id, deployment_ids, auth_login_url, jwks_url, token_url, name, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (issuer, client_id) DO UPDATE SET
                       deployment_ids = excluded.deployment_ids, auth_login_url = excluded.auth_login_url,
                       jwks_url = excluded.jwks_url, token_url = excluded.token_url, name = excluded.name",
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

    async fn insert_login_state(&self, state: &LoginState, max_pending: usize) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let pending: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM lti_login_states WHERE expires_at >= $1 LIMIT $2) AS waiting",
                )
                .bind(ts(state.created_at))
                .bind(count(max_pending))
                .fetch_one(self.db.pool())
                .await?;
                if usize::try_from(pending).unwrap_or(usize::MAX) >= max_pending {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO lti_login_states (state, nonce, platform_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&state.state)
                .bind(&state.nonce)
                .bind(&state.platform_id)
                .bind(ts(state.created_at))
                .bind(ts(state.expires_at))
                .execute(self.db.pool())
                .await?;
                Ok(true)
            })
            .await
    }

    async fn take_login_state(&self, state: &str) -> Result<Option<LoginState>, RegistryError> {
        self.db
            .timed(async {
                // Deleting answers the row: of two requests with the same state, one gets it.
                let row = sqlx::query(
                    "DELETE FROM lti_login_states WHERE state = $1 RETURNING state, nonce, platform_id, created_at, expires_at",
                )
                .bind(state)
                .fetch_optional(self.db.pool())
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(LoginState {
                    state: get(&row, "state")?,
                    nonce: get(&row, "nonce")?,
                    platform_id: get(&row, "platform_id")?,
                    created_at: parse_time(&get::<String>(&row, "created_at")?)?,
                    expires_at: parse_time(&get::<String>(&row, "expires_at")?)?,
                }))
            })
            .await
    }

    async fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "INSERT INTO lti_launches (id, platform_id, deployment_id, settings, created_at, expires_at, used_at)
                     VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                )
                .bind(&launch.id)
                .bind(&launch.platform_id)
                .bind(&launch.deployment_id)
                .bind(&launch.settings_json)
                .bind(ts(launch.created_at))
                .bind(ts(launch.expires_at))
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
                    "SELECT id, platform_id, deployment_id, settings, created_at, expires_at, used_at FROM lti_launches WHERE id = $1",
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
                for table in ["lti_login_states", "lti_launches", "brokered_launches"] {
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

    fn state(name: &str, expires_in_minutes: i64) -> LoginState {
        let now = Utc::now();
        LoginState {
            state: name.to_string(),
            nonce: format!("nonce-{name}"),
            platform_id: "platform-1".to_string(),
            created_at: now,
            expires_at: now + chrono::Duration::minutes(expires_in_minutes),
        }
    }

    #[tokio::test]
    async fn test_pending_login_states_are_bounded_and_single_use() {
        for registry in registries().await {
            assert!(registry.insert_login_state(&state("old", -1), 2).await.unwrap(), "stored, already expired");
            assert!(registry.insert_login_state(&state("a", 10), 2).await.unwrap());
            assert!(registry.insert_login_state(&state("b", 10), 2).await.unwrap(), "an expired state does not count");
            assert!(!registry.insert_login_state(&state("c", 10), 2).await.unwrap(), "two are waiting: full");
            assert!(registry.take_login_state("c").await.unwrap().is_none());
            assert_eq!(registry.take_login_state("a").await.unwrap().map(|s| s.nonce).as_deref(), Some("nonce-a"));
            assert!(registry.take_login_state("a").await.unwrap().is_none(), "each state is used once");
            assert!(registry.insert_login_state(&state("c", 10), 2).await.unwrap(), "room again");
            assert_eq!(registry.purge_expired(Utc::now()).await.unwrap(), 1, "the expired one");
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
            };
            registry.upsert_platform(&platform).await.unwrap();
            let again = Platform { id: "other-id".into(), deployment_ids: vec!["d1".into(), "d2".into()], ..platform };
            let saved = registry.upsert_platform(&again).await.unwrap();
            assert_eq!(saved.id, "p1", "same issuer and client id: the same platform, updated");
            assert_eq!(saved.deployment_ids, vec!["d1", "d2"]);
            assert_eq!(registry.platforms().await.unwrap().len(), 1);
            assert_eq!(registry.platforms_by_issuer("https://lms.example").await.unwrap().len(), 1);
            assert!(registry.platform("p1").await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn test_launches_are_consumed_once_and_not_after_expiry() {
        for registry in registries().await {
            let now = Utc::now();
            let launch = |id: &str, minutes: i64| DeepLinkLaunch {
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
            assert_eq!(registry.launch("l1").await.unwrap().unwrap().settings_json, "{\"accept_multiple\":true}");
            assert!(registry.consume_launch("l1", Utc::now()).await.unwrap());
            assert!(!registry.consume_launch("l1", Utc::now()).await.unwrap(), "once");
            assert!(registry.launch("l1").await.unwrap().unwrap().used_at.is_some());
            assert!(!registry.consume_launch("l2", Utc::now()).await.unwrap(), "expired");
        }
    }
}
