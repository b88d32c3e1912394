//! Signing keys and named secrets (migration `0033_secrets`), sealed by the registry's
//! [`crate::registry::sealing::Sealer`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{get, optional_time, parse_time, ts, SqlRegistry};
use crate::registry::secrets::{SecretStore, SigningKeyRecord};
use crate::registry::RegistryError;

/// The row whose insertion elects the replica that creates a database's first keys.
const FIRST_KEYS: &str = "signing-keys-created";

impl SqlRegistry {
    fn open_secret(&self, stored: &str) -> Result<Vec<u8>, RegistryError> {
        self.sealer.open(stored).map_err(|err| RegistryError::Storage(err.to_string()))
    }
}

#[async_trait]
impl SecretStore for SqlRegistry {
    async fn secret_or_insert(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, RegistryError> {
        let sealed = self.sealer.seal(value);
        let stored: String = self
            .db
            .timed(async {
                sqlx::query(
                    "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(&sealed)
                .bind(ts(Utc::now()))
                .execute(self.db.pool())
                .await?;
                Ok(sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(self.db.pool())
                    .await?)
            })
            .await?;
        self.open_secret(&stored)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, RegistryError> {
        let rows = self
            .db
            .timed(async {
                Ok(sqlx::query(
                    "SELECT kid, created_at, retired_at, private_key FROM signing_keys ORDER BY created_at, kid",
                )
                .fetch_all(self.db.pool())
                .await?)
            })
            .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let pem = self.open_secret(&get::<String>(row, "private_key")?)?;
            keys.push(SigningKeyRecord {
                kid: get(row, "kid")?,
                created_at: parse_time(&get::<String>(row, "created_at")?)?,
                retired_at: optional_time(get(row, "retired_at")?)?,
                private_pem: String::from_utf8(pem).map_err(|_| RegistryError::Corrupt("signing key".into()))?,
            });
        }
        Ok(keys)
    }

    async fn add_first_signing_keys(&self, keys: &[SigningKeyRecord]) -> Result<bool, RegistryError> {
        let sealed: Vec<String> = keys.iter().map(|key| self.sealer.seal(key.private_pem.as_bytes())).collect();
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                let elected = sqlx::query(
                    "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(FIRST_KEYS)
                .bind(self.sealer.seal(b""))
                .bind(ts(Utc::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !elected {
                    return Ok(false);
                }
                for (key, private_key) in keys.iter().zip(&sealed) {
                    sqlx::query(
                        "INSERT INTO signing_keys (kid, created_at, retired_at, private_key) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&key.kid)
                    .bind(ts(key.created_at))
                    .bind(key.retired_at.map(ts))
                    .bind(private_key)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    async fn rotate_signing_keys(
        &self,
        key: &SigningKeyRecord,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), RegistryError> {
        let sealed = self.sealer.seal(key.private_pem.as_bytes());
        self.db
            .timed(async {
                let mut tx = self.db.begin_write().await?;
                sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM signing_keys WHERE retired_at < $1")
                    .bind(ts(forget_before))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO signing_keys (kid, created_at, retired_at, private_key) VALUES ($1, $2, NULL, $3)",
                )
                .bind(&key.kid)
                .bind(ts(key.created_at))
                .bind(&sealed)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::registries;
    use super::*;
    use crate::registry::sealing::Sealer;

    fn key(kid: &str) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: kid.into(),
            created_at: Utc::now(),
            retired_at: None,
            private_pem: format!("PEM {kid}"),
        }
    }

    #[tokio::test]
    async fn test_first_keys_are_stored_once_and_rotation_retires_and_forgets() {
        for registry in registries().await {
            assert!(registry.add_first_signing_keys(&[key("k1")]).await.unwrap());
            assert!(!registry.add_first_signing_keys(&[key("other")]).await.unwrap(), "another replica was first");
            assert_eq!(
                registry.signing_keys().await.unwrap().iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
                ["k1"]
            );
            let now = Utc::now();
            registry.rotate_signing_keys(&key("k2"), now, now - chrono::Duration::days(7)).await.unwrap();
            let keys = registry.signing_keys().await.unwrap();
            assert_eq!(keys.len(), 2);
            assert!(keys.iter().find(|k| k.kid == "k1").unwrap().retired_at.is_some());
            assert_eq!(keys.iter().find(|k| k.kid == "k2").unwrap().private_pem, "PEM k2");
            let later = now + chrono::Duration::days(8);
            registry.rotate_signing_keys(&key("k3"), later, later - chrono::Duration::days(7)).await.unwrap();
            let kids: Vec<String> = registry.signing_keys().await.unwrap().into_iter().map(|k| k.kid).collect();
            assert_eq!(kids, ["k2", "k3"], "k1 was retired longer than the grace period ago");

            assert_eq!(registry.secret_or_insert("pseudonym", b"first").await.unwrap(), b"first");
            assert_eq!(registry.secret_or_insert("pseudonym", b"second").await.unwrap(), b"first");
        }
    }

    #[tokio::test]
    async fn test_secrets_are_sealed_at_rest_with_a_key_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite3");
        let key_text = "the operator's secret key, long enough 0123456789";
        let registry = SqlRegistry::open_sqlite(&path)
            .await
            .unwrap()
            .sealed_with(Sealer::with_key(key_text).unwrap())
            .await
            .unwrap();
        registry.add_first_signing_keys(&[key("k1")]).await.unwrap();
        registry.secret_or_insert("pseudonym", b"very secret").await.unwrap();
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT private_key FROM signing_keys UNION ALL SELECT value FROM secrets")
                .fetch_all(registry.db.pool())
                .await
                .unwrap();
        assert!(stored.iter().all(|value| !value.contains("PEM") && !value.contains("very secret")), "{stored:?}");
        registry.close().await;

        let wrong = SqlRegistry::open_sqlite(&path)
            .await
            .unwrap()
            .sealed_with(Sealer::with_key("another key that is long enough 0123456789").unwrap())
            .await;
        assert!(wrong.err().unwrap().to_string().contains("GATEWAY_SECRET_KEY"));
        let none = SqlRegistry::open_sqlite(&path).await.unwrap().sealed_with(Sealer::plain()).await;
        assert!(none.err().unwrap().to_string().contains("GATEWAY_SECRET_KEY"));
        let right = SqlRegistry::open_sqlite(&path)
            .await
            .unwrap()
            .sealed_with(Sealer::with_key(key_text).unwrap())
            .await
            .unwrap();
        assert_eq!(right.signing_keys().await.unwrap()[0].private_pem, "PEM k1");
    }
}
