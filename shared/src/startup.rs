//! The composition root: the one place that turns a configuration (an embedded data
//! directory, or a DynamoDB table with its secrets) into what an entry point needs. Every
//! Lambda main, `inlet serve`, the CLI and the puller call [`Services::build`]; no store
//! module reaches up here or into [`crate::aws`].

use crate::api::App;
use crate::api::admin::Admin;
use crate::api::ratelimit::RateLimiter;
use crate::domain::Directory;
use crate::domain::tenant::{Gate, TenantId, Tenants};
use crate::pull::Integrations;
use crate::store::docs::Documents;
use crate::store::embedded::EmbeddedStore;
use crate::store::files::FileDocs;
use crate::store::{Feed, Table};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Domain(#[from] crate::domain::DomainError),
}

/// How long activity entries are kept: `INLET_ACTIVITY_RETENTION_DAYS` (1 to 3650), else 90
/// days. A value outside that range is logged and the default kept, so a typo never stops
/// the functions from starting.
fn retention() -> Duration {
    let default = crate::domain::activity::DEFAULT_RETENTION;
    match std::env::var("INLET_ACTIVITY_RETENTION_DAYS") {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(days) if (1..=3650).contains(&days) => Duration::from_secs(days * 24 * 3600),
            _ => {
                tracing::warn!(value = %v, "INLET_ACTIVITY_RETENTION_DAYS is 1 to 3650 days; keeping 90");
                default
            }
        },
    }
}

/// How long a sync's lease holds unrenewed (renewed every third of it): the longest a
/// crashed run keeps its tenant from being synced.
#[cfg(feature = "okta")]
pub const PULL_LEASE: Duration = Duration::from_secs(90);
/// Time a run keeps back from its deadline to apply what it read and save its state.
#[cfg(feature = "okta")]
pub const PULL_RESERVE: Duration = Duration::from_secs(60);

/// Where the directory and the secrets are kept.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Everything under one local data directory: the redb store, the registry and the
    /// vaults as owner-only files.
    Embedded { data_dir: PathBuf },
    /// Users, groups, the registry and the pull state in one DynamoDB table.
    #[cfg(feature = "aws")]
    Dynamo { table: String, vault: Vault, sdk: Sdk },
}

/// Where bearer-token verifiers and Okta API tokens are kept beside a DynamoDB table.
#[derive(Debug, Clone)]
pub enum Vault {
    /// Secrets Manager: token verifiers under `tokens`, Okta API tokens under `okta` (two
    /// prefixes, so IAM can let the SCIM functions read the first and not the second).
    Secrets { tokens: String, okta: String },
    /// Owner-only files in a local directory (a local DynamoDB without Secrets Manager).
    Files { dir: PathBuf },
}

/// How the AWS SDK is configured (see [`crate::aws`]).
#[derive(Debug, Clone, Copy)]
pub enum Sdk {
    Workstation,
    Lambda,
}

impl Storage {
    /// A Lambda function's storage: `INLET_TABLE`, `INLET_SECRET_PREFIX` and
    /// `INLET_OKTA_SECRET_PREFIX` (default: the token prefix's parent + `okta/`).
    #[cfg(feature = "aws")]
    pub fn lambda_from_env() -> Result<Self, StartupError> {
        let table = std::env::var("INLET_TABLE").map_err(|_| StartupError::Missing("INLET_TABLE"))?;
        let tokens = std::env::var("INLET_SECRET_PREFIX").map_err(|_| StartupError::Missing("INLET_SECRET_PREFIX"))?;
        let okta = match std::env::var("INLET_OKTA_SECRET_PREFIX") {
            Ok(p) => p,
            Err(_) => okta_prefix_beside(&tokens)?,
        };
        Ok(Self::Dynamo { table, vault: Vault::Secrets { tokens, okta }, sdk: Sdk::Lambda })
    }
}

impl Storage {
    /// A workstation's storage (`inlet serve`, the CLI): the data directory alone, or a
    /// DynamoDB table with its secrets in Secrets Manager under `secret_prefix`, or, without
    /// a prefix, in files under the data directory.
    pub fn local(
        data_dir: PathBuf,
        table: Option<String>,
        secret_prefix: Option<String>,
    ) -> Result<Self, StartupError> {
        match (table, secret_prefix) {
            (None, None) => Ok(Self::Embedded { data_dir }),
            #[cfg(feature = "aws")]
            (Some(table), Some(tokens)) => {
                let okta = okta_prefix_beside(&tokens)?;
                Ok(Self::Dynamo { table, vault: Vault::Secrets { tokens, okta }, sdk: Sdk::Workstation })
            }
            #[cfg(feature = "aws")]
            (Some(table), None) => {
                Ok(Self::Dynamo { table, vault: Vault::Files { dir: data_dir }, sdk: Sdk::Workstation })
            }
            (None, Some(_)) => Err(StartupError::Invalid("a secret prefix needs a DynamoDB table".into())),
            #[cfg(not(feature = "aws"))]
            (Some(_), _) => Err(StartupError::Invalid("this build has no DynamoDB backend".into())),
        }
    }
}

/// `inlet/stack/tenants/` → `inlet/stack/okta/`; a prefix with no parent (`inlet/`) →
/// `inlet-okta/`. Either way outside the token prefix, so IAM can tell the two apart.
pub fn okta_prefix_beside(tokens: &str) -> Result<String, StartupError> {
    let trimmed = tokens.trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(StartupError::Invalid(format!(
            "cannot derive the Okta secret prefix from {tokens:?}: set INLET_OKTA_SECRET_PREFIX"
        )));
    }
    Ok(match trimmed.rsplit_once('/') {
        Some((parent, _)) if !parent.is_empty() => format!("{parent}/okta/"),
        _ => format!("{trimmed}-okta/"),
    })
}

/// What an entry point needs, built once per process (per cold start in Lambda).
#[derive(Clone)]
pub struct Services {
    pub table: Arc<dyn Table>,
    pub tenants: Tenants,
    pub directory: Directory,
    /// Okta API pull configuration, status and tokens.
    pub integrations: Integrations,
    /// The table's change feed, where this process reads it itself (the embedded store's;
    /// DynamoDB's stream is read by the publisher Lambda instead).
    pub feed: Option<Arc<dyn Feed>>,
}

/// How the SCIM request path is shaped.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// How long tenant records and verifiers are cached: the bound on revocation latency.
    pub auth_ttl: Duration,
    /// Requests per second per tenant (0 = off).
    pub rate_limit: u32,
    /// A fixed token for one tenant, bypassing the vault (local development only).
    pub dev_token: Option<(TenantId, String)>,
}

impl Services {
    pub async fn build(storage: &Storage) -> Result<Self, StartupError> {
        match storage {
            Storage::Embedded { data_dir } => {
                crate::store::files::private_dir(data_dir)?;
                let store = Arc::new(EmbeddedStore::open(data_dir)?);
                let okta: Arc<dyn Documents> = Arc::new(FileDocs::open(&data_dir.join("okta-secrets"), true)?);
                let feed: Arc<dyn Feed> = store.clone();
                Ok(Self { feed: Some(feed), ..Self::assemble(store, Tenants::in_dir(data_dir)?, okta) })
            }
            #[cfg(feature = "aws")]
            Storage::Dynamo { table, vault, sdk } => {
                use crate::store::dynamo::DynamoStore;
                use crate::store::secrets::SecretsDocs;
                let config = match sdk {
                    Sdk::Workstation => crate::aws::config().await,
                    Sdk::Lambda => crate::aws::lambda_config().await,
                };
                let store: Arc<dyn Table> =
                    Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone()));
                let (tokens, okta): (Arc<dyn Documents>, Arc<dyn Documents>) = match vault {
                    Vault::Secrets { tokens, okta } => {
                        let client = aws_sdk_secretsmanager::Client::new(&config);
                        (
                            Arc::new(SecretsDocs::new(client.clone(), tokens.clone())),
                            Arc::new(SecretsDocs::new(client, okta.clone())),
                        )
                    }
                    Vault::Files { dir } => {
                        crate::store::files::private_dir(dir)?;
                        (
                            Arc::new(FileDocs::open(&dir.join("secrets"), true)?),
                            Arc::new(FileDocs::open(&dir.join("okta-secrets"), true)?),
                        )
                    }
                };
                let tenants = Tenants::on_table(Arc::clone(&store), tokens);
                Ok(Self::assemble(store, tenants, okta))
            }
        }
    }

    /// Only the tenant registry and token vault (what `inlet tenants` / `inlet tokens` need):
    /// locally these are files, so this works while `inlet serve` holds the embedded store.
    pub async fn tenants_only(storage: &Storage) -> Result<Tenants, StartupError> {
        match storage {
            Storage::Embedded { data_dir } => Ok(Tenants::in_dir(data_dir)?),
            #[cfg(feature = "aws")]
            Storage::Dynamo { .. } => Ok(Self::build(storage).await?.tenants),
        }
    }

    /// The services over a table built elsewhere (a benchmark wraps the store to count its
    /// requests); `okta_vault` keeps the Okta API tokens.
    pub fn on_table(table: Arc<dyn Table>, tenants: Tenants, okta_vault: Arc<dyn Documents>) -> Services {
        Self::assemble(table, tenants, okta_vault)
    }

    fn assemble(table: Arc<dyn Table>, tenants: Tenants, okta: Arc<dyn Documents>) -> Self {
        let directory = Directory::new(Arc::clone(&table)).with_retention(retention());
        let integrations = Integrations::new(Arc::clone(&table), okta);
        Self { table, tenants, directory, integrations, feed: None }
    }

    /// What the admin API works on.
    pub fn admin(&self) -> Admin {
        Admin {
            tenants: self.tenants.clone(),
            directory: self.directory.clone(),
            integrations: self.integrations.clone(),
        }
    }

    /// The Okta puller over these services. `INLET_PULL_LEASE_SECONDS` shortens the lease
    /// (tests of a crashed run; at least 3 s).
    #[cfg(feature = "okta")]
    pub fn puller(&self) -> Result<crate::pull::sync::Puller, StartupError> {
        let lease = match std::env::var("INLET_PULL_LEASE_SECONDS") {
            Ok(v) => Duration::from_secs(v.trim().parse::<u64>().ok().filter(|s| *s >= 3).ok_or_else(|| {
                StartupError::Invalid(format!("INLET_PULL_LEASE_SECONDS={v:?}: seconds, at least 3"))
            })?),
            Err(_) => PULL_LEASE,
        };
        Ok(crate::pull::sync::Puller {
            integrations: self.integrations.clone(),
            tenants: self.tenants.clone(),
            directory: self.directory.clone(),
            limits: crate::okta::Limits::default(),
            lease,
            reserve: PULL_RESERVE,
        })
    }

    /// The SCIM request path's state: directory, token gate, rate limiter.
    pub fn app(&self, o: &AppOptions) -> App {
        let mut gate = Gate::new(self.tenants.clone(), o.auth_ttl);
        if let Some((tenant, token)) = &o.dev_token {
            gate = gate.with_dev_token(tenant.clone(), token);
        }
        App {
            directory: self.directory.clone(),
            gate: Arc::new(gate),
            limiter: Arc::new(RateLimiter::new(o.rate_limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_prefix_sits_beside_the_token_prefix() {
        assert_eq!(okta_prefix_beside("inlet/prod/tenants/").unwrap(), "inlet/prod/okta/");
        assert_eq!(okta_prefix_beside("inlet/prod/tenants").unwrap(), "inlet/prod/okta/");
        assert_eq!(okta_prefix_beside("inlet/").unwrap(), "inlet-okta/");
        assert!(okta_prefix_beside("/").is_err());
    }
}
