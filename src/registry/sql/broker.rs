//! Publishers' tools, brokered launches, AGS grants, tool tokens and seen assertions
//! (migrations `0020_broker`, `0021_broker_state`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::{get, is_unique_violation, json_list, optional_time, parse_time, to_json, ts, SqlRegistry};
use crate::registry::broker_store::{AgsGrant, BrokerStore, BrokeredLaunch, PublisherTool, ToolToken};
use crate::registry::RegistryError;
use crate::resource::PublisherId;

const TOOL_COLUMNS: &str = "id, publisher, name, login_url, launch_url, redirect_uris, client_id, deployment_id, jwks_url, share_personal_data, created_at";

const GRANT_COLUMNS: &str = "id, tool_id, platform_id, lineitem_url, lms_user_id, tool_user_id, scopes, created_at";

fn to_tool(row: &AnyRow) -> Result<PublisherTool, RegistryError> {
    let publisher: String = get(row, "publisher")?;
    Ok(PublisherTool {
        id: get(row, "id")?,
        publisher: PublisherId::parse(&publisher).map_err(|err| RegistryError::Corrupt(err.to_string()))?,
        name: get(row, "name")?,
        login_url: get(row, "login_url")?,
        launch_url: get(row, "launch_url")?,
        redirect_uris: json_list(&get::<String>(row, "redirect_uris")?)?,
        client_id: get(row, "client_id")?,
        deployment_id: get(row, "deployment_id")?,
        jwks_url: get(row, "jwks_url")?,
        share_personal_data: get::<i64>(row, "share_personal_data")? != 0,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
    })
}

fn to_grant(row: &AnyRow) -> Result<AgsGrant, RegistryError> {
    Ok(AgsGrant {
        id: get(row, "id")?,
        tool_id: get(row, "tool_id")?,
        platform_id: get(row, "platform_id")?,
        lineitem_url: get(row, "lineitem_url")?,
        lms_user_id: get(row, "lms_user_id")?,
        tool_user_id: get(row, "tool_user_id")?,
        scopes: json_list(&get::<String>(row, "scopes")?)?,
        created_at: parse_time(&get::<String>(row, "created_at")?)?,
    })
}

impl SqlRegistry {
    async fn query_tools(&self, column: &str, value: &str) -> Result<Vec<PublisherTool>, RegistryError> {
        self.db
            .timed(async {
                let rows = sqlx::query(&format!(
                    "SELECT {TOOL_COLUMNS} FROM publisher_tools WHERE {column} = $1 ORDER BY created_at, id"
                ))
                .bind(value)
                .fetch_all(self.db.pool())
                .await?;
                rows.iter().map(to_tool).collect()
            })
            .await
    }
}

#[async_trait]
impl BrokerStore for SqlRegistry {
    async fn upsert_tool(&self, tool: &PublisherTool) -> Result<PublisherTool, RegistryError> {
        let redirect_uris = to_json(&tool.redirect_uris)?;
        self.db
            .timed(async {
                let changed = sqlx::query(&format!(
                    "INSERT INTO publisher_tools ({TOOL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, login_url = excluded.login_url,
                       launch_url = excluded.launch_url, redirect_uris = excluded.redirect_uris,
                       deployment_id = excluded.deployment_id, jwks_url = excluded.jwks_url,
                       share_personal_data = excluded.share_personal_data
                     WHERE publisher_tools.publisher = excluded.publisher"
                ))
                .bind(&tool.id)
                .bind(tool.publisher.as_str())
                .bind(&tool.name)
                .bind(&tool.login_url)
                .bind(&tool.launch_url)
                .bind(&redirect_uris)
                .bind(&tool.client_id)
                .bind(&tool.deployment_id)
                .bind(&tool.jwks_url)
                .bind(i64::from(tool.share_personal_data))
                .bind(ts(tool.created_at))
                .execute(self.db.pool())
                .await;
                match changed {
                    Ok(done) if done.rows_affected() > 0 => Ok(()),
                    // Another tool has the id, or another publisher's tool the client id.
                    Ok(_) => Err(RegistryError::Conflict(format!(
                        "client id '{}' belongs to another publisher's tool",
                        tool.client_id
                    ))),
                    Err(err) if is_unique_violation(&err) => {
                        Err(RegistryError::Conflict(format!("a tool with id '{}' already exists", tool.id)))
                    }
                    Err(err) => Err(err.into()),
                }
            })
            .await?;
        self.tool_by_client_id(&tool.client_id).await?.ok_or_else(|| RegistryError::Corrupt("tool vanished".into()))
    }

    async fn tools_of(&self, publisher: &PublisherId) -> Result<Vec<PublisherTool>, RegistryError> {
        self.query_tools("publisher", publisher.as_str()).await
    }

    async fn tool(&self, id: &str) -> Result<Option<PublisherTool>, RegistryError> {
        Ok(self.query_tools("id", id).await?.into_iter().next())
    }

    async fn tool_by_client_id(&self, client_id: &str) -> Result<Option<PublisherTool>, RegistryError> {
        Ok(self.query_tools("client_id", client_id).await?.into_iter().next())
    }

    async fn delete_tool(&self, id: &str) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                for table in ["tool_tokens", "ags_grants", "brokered_launches"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE tool_id = $1")).bind(id).execute(&mut *tx).await?;
                }
                let deleted = sqlx::query("DELETE FROM publisher_tools WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn insert_brokered_launch(&self, launch: &BrokeredLaunch) -> Result<(), RegistryError> {
        self.db
            .timed(async {
                sqlx::query(
                    "INSERT INTO brokered_launches (id, tool_id, resource_id, claims, created_at, expires_at, used_at)
                     VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                )
                .bind(&launch.id)
                .bind(&launch.tool_id)
                .bind(&launch.resource_id)
                .bind(&launch.claims_json)
                .bind(ts(launch.created_at))
                .bind(ts(launch.expires_at))
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn brokered_launch(&self, id: &str) -> Result<Option<BrokeredLaunch>, RegistryError> {
        self.db
            .timed(async {
                let row = sqlx::query(
                    "SELECT id, tool_id, resource_id, claims, created_at, expires_at, used_at FROM brokered_launches WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(BrokeredLaunch {
                    id: get(&row, "id")?,
                    tool_id: get(&row, "tool_id")?,
                    resource_id: get(&row, "resource_id")?,
                    claims_json: get(&row, "claims")?,
                    created_at: parse_time(&get::<String>(&row, "created_at")?)?,
                    expires_at: parse_time(&get::<String>(&row, "expires_at")?)?,
                    used_at: optional_time(get(&row, "used_at")?)?,
                }))
            })
            .await
    }

    async fn consume_brokered_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                let changed = sqlx::query(
                    "UPDATE brokered_launches SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
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

    async fn upsert_grant(&self, grant: &AgsGrant) -> Result<AgsGrant, RegistryError> {
        let scopes = to_json(&grant.scopes)?;
        self.db
            .timed(async {
                let row = sqlx::query(&format!(
                    "INSERT INTO ags_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (tool_id, lineitem_url, lms_user_id) DO UPDATE SET scopes = excluded.scopes
                     RETURNING {GRANT_COLUMNS}"
                ))
                .bind(&grant.id)
                .bind(&grant.tool_id)
                .bind(&grant.platform_id)
                .bind(&grant.lineitem_url)
                .bind(&grant.lms_user_id)
                .bind(&grant.tool_user_id)
                .bind(&scopes)
                .bind(ts(grant.created_at))
                .fetch_one(self.db.pool())
                .await?;
                to_grant(&row)
            })
            .await
    }

    async fn grant(&self, id: &str) -> Result<Option<AgsGrant>, RegistryError> {
        self.db
            .timed(async {
                let row = sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM ags_grants WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(self.db.pool())
                    .await?;
                row.as_ref().map(to_grant).transpose()
            })
            .await
    }

    async fn insert_tool_token(&self, token: &ToolToken) -> Result<(), RegistryError> {
        let scopes = to_json(&token.scopes)?;
        self.db
            .timed(async {
                sqlx::query("DELETE FROM tool_tokens WHERE expires_at < $1")
                    .bind(ts(Utc::now()))
                    .execute(self.db.pool())
                    .await?;
                sqlx::query(
                    "INSERT INTO tool_tokens (token_hash, tool_id, scopes, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&token.token_hash)
                .bind(&token.tool_id)
                .bind(&scopes)
                .bind(ts(token.expires_at))
                .execute(self.db.pool())
                .await?;
                Ok(())
            })
            .await
    }

    async fn tool_token(&self, token_hash: &str) -> Result<Option<ToolToken>, RegistryError> {
        self.db
            .timed(async {
                let row = sqlx::query(
                    "SELECT token_hash, tool_id, scopes, expires_at FROM tool_tokens WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(self.db.pool())
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(ToolToken {
                    token_hash: get(&row, "token_hash")?,
                    tool_id: get(&row, "tool_id")?,
                    scopes: json_list(&get::<String>(&row, "scopes")?)?,
                    expires_at: parse_time(&get::<String>(&row, "expires_at")?)?,
                }))
            })
            .await
    }

    async fn remember_assertion(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError> {
        self.db
            .timed(async {
                sqlx::query("DELETE FROM seen_assertions WHERE expires_at < $1")
                    .bind(ts(Utc::now()))
                    .execute(self.db.pool())
                    .await?;
                let inserted = sqlx::query(
                    "INSERT INTO seen_assertions (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(ts(expires_at))
                .execute(self.db.pool())
                .await?
                .rows_affected();
                Ok(inserted == 1)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;
    use crate::registry::{Publisher, Registry};

    fn tool(publisher: &str, id: &str, client_id: &str) -> PublisherTool {
        PublisherTool {
            id: id.into(),
            publisher: PublisherId::parse(publisher).unwrap(),
            name: None,
            login_url: "https://tool.example/login".into(),
            launch_url: "https://tool.example/launch".into(),
            redirect_uris: vec!["https://tool.example/launch".into()],
            client_id: client_id.into(),
            deployment_id: "1".into(),
            jwks_url: "https://tool.example/jwks".into(),
            share_personal_data: true,
            created_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn test_a_client_id_belongs_to_one_publisher_and_assertions_are_single_use() {
        for registry in registries().await {
            for id in ["acme", "other"] {
                let publisher = Publisher {
                    id: PublisherId::parse(id).unwrap(),
                    name: id.into(),
                    homepage: None,
                    created_at: Utc::now(),
                };
                registry.insert_publisher(&publisher, None).await.unwrap();
            }
            let saved = registry.upsert_tool(&tool("acme", "t1", "client-a")).await.unwrap();
            assert!(saved.share_personal_data);
            let renamed = PublisherTool { name: Some("Renamed".into()), ..tool("acme", "t9", "client-a") };
            assert_eq!(registry.upsert_tool(&renamed).await.unwrap().id, "t1", "same publisher: updated in place");
            assert!(matches!(
                registry.upsert_tool(&tool("other", "t2", "client-a")).await,
                Err(RegistryError::Conflict(_))
            ));
            assert_eq!(registry.tools_of(&PublisherId::parse("acme").unwrap()).await.unwrap().len(), 1);

            let later = Utc::now() + chrono::Duration::minutes(5);
            assert!(registry.remember_assertion("jti-1", later).await.unwrap());
            assert!(!registry.remember_assertion("jti-1", later).await.unwrap(), "a replay");

            let grant = AgsGrant {
                id: "g1".into(),
                tool_id: "t1".into(),
                platform_id: "p1".into(),
                lineitem_url: "https://lms.example/li/1".into(),
                lms_user_id: "u1".into(),
                tool_user_id: "rg-1".into(),
                scopes: vec!["score".into()],
                created_at: Utc::now(),
            };
            registry.upsert_grant(&grant).await.unwrap();
            let again = registry
                .upsert_grant(&AgsGrant { id: "g2".into(), scopes: vec!["score".into(), "lineitem".into()], ..grant })
                .await
                .unwrap();
            assert_eq!(again.id, "g1", "the same tool, line item and user keep one grant");
            assert_eq!(again.scopes.len(), 2);
        }
    }
}
