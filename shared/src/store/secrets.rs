//! The token vault in AWS Secrets Manager: one secret per tenant, named
//! `{prefix}{tenant}`. Reads always name the `AWSCURRENT` stage. A conditional write is a
//! compare-and-swap on that stage: the new version is added under a private label, then
//! `AWSCURRENT` is moved to it from the version that was read — Secrets Manager refuses
//! the move if `AWSCURRENT` is no longer there, so a concurrent writer can never be lost.

use super::StoreError;
use super::docs::{Doc, Documents, Expect, check_name};
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

const CURRENT: &str = "AWSCURRENT";
/// Where a new version waits until `AWSCURRENT` moves to it.
const PENDING: &str = "INLET_PENDING";

pub struct SecretsDocs {
    client: Client,
    prefix: String,
}

fn backend(e: impl std::error::Error) -> StoreError {
    StoreError::Backend(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
}

fn conflict() -> StoreError {
    StoreError::ConditionFailed { index: 0 }
}

impl SecretsDocs {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self { client, prefix: prefix.into() }
    }

    fn id(&self, name: &str) -> Result<String, StoreError> {
        check_name(name)?;
        Ok(format!("{}{name}", self.prefix))
    }

    async fn current_version(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.read(id).await?.map(|d| d.tag))
    }

    async fn read(&self, id: &str) -> Result<Option<Doc>, StoreError> {
        let out = self.client.get_secret_value().secret_id(id).version_stage(CURRENT).send().await;
        match out {
            Ok(o) => Ok(Some(Doc {
                name: id.strip_prefix(&self.prefix).unwrap_or(id).to_owned(),
                body: o.secret_string().unwrap_or_default().as_bytes().to_vec(),
                tag: o.version_id().unwrap_or_default().to_owned(),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn create(&self, id: &str, text: String) -> Result<(), StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        let out = self
            .client
            .create_secret()
            .name(id)
            .description("Inlet: a tenant's SCIM bearer-token verifiers (SHA-256 digests, never tokens)")
            .secret_string(text)
            .client_request_token(token)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => Err(conflict()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn swap(&self, id: &str, text: String, expected: &str) -> Result<(), StoreError> {
        // A fixed request token makes the SDK's own retries of this call idempotent.
        let new_version = uuid::Uuid::new_v4().to_string();
        let put = self
            .client
            .put_secret_value()
            .secret_id(id)
            .secret_string(text)
            .client_request_token(&new_version)
            .version_stages(PENDING)
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                return Err(conflict());
            }
            Err(e) => return Err(backend(e)),
        }
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(id)
            .version_stage(CURRENT)
            .move_to_version_id(&new_version)
            .remove_from_version_id(expected)
            .send()
            .await;
        match moved {
            Ok(_) => Ok(()),
            // Refused: AWSCURRENT moved on. Unless it moved to our version (a retried call
            // whose first attempt succeeded), another writer won.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_parameter_exception()) => {
                match self.current_version(id).await? {
                    Some(v) if v == new_version => Ok(()),
                    _ => Err(conflict()),
                }
            }
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl Documents for SecretsDocs {
    async fn get(&self, name: &str) -> Result<Option<Doc>, StoreError> {
        self.read(&self.id(name)?).await
    }

    async fn put(&self, name: &str, body: &[u8], expect: Expect) -> Result<(), StoreError> {
        let id = self.id(name)?;
        let text = String::from_utf8(body.to_vec()).map_err(|_| StoreError::Invalid("secrets hold text".into()))?;
        match expect {
            Expect::Absent => self.create(&id, text).await,
            Expect::Tag(tag) => self.swap(&id, text, &tag).await,
            Expect::Any => match self.current_version(&id).await? {
                None => self.create(&id, text).await,
                Some(v) => self.swap(&id, text, &v).await,
            },
        }
    }
}
