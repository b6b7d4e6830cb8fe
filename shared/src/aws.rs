//! One AWS SDK configuration per process, with one HTTPS client shared by every service
//! client (DynamoDB, Secrets Manager).
//!
//! Trust roots: AWS service endpoints present certificates of Amazon Trust Services (Amazon
//! Root CA 1–4, cross-signed by Starfield Services Root CA G2). Trusting just those five
//! (`certs/aws-roots.pem`, from Debian's ca-certificates) instead of the ~140 system roots
//! spares each Lambda cold start the parsing of the system bundle (~5 ms, measured with
//! `inlet-bench --lambda-init`). `INLET_TLS_ROOTS=system` restores the system roots (e.g.
//! behind a TLS-inspecting proxy); the local server and CLI always use them.

use crate::domain::tenant::Tenants;
use crate::store::Table;
use crate::store::dynamo::DynamoStore;
use crate::store::secrets::SecretsDocs;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use std::sync::Arc;

const AWS_ROOTS: &[u8] = include_bytes!("../certs/aws-roots.pem");

/// Which certificate authorities the HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// Amazon Trust Services only.
    Aws,
    /// The operating system's roots.
    System,
}

impl Roots {
    /// `INLET_TLS_ROOTS=system` or the AWS roots.
    pub fn from_env() -> Self {
        match std::env::var("INLET_TLS_ROOTS").as_deref() {
            Ok("system") => Self::System,
            _ => Self::Aws,
        }
    }
}

/// The SDK configuration from the environment (region, credentials, endpoint overrides such
/// as `AWS_ENDPOINT_URL_DYNAMODB`), with one HTTPS client trusting `roots`.
pub async fn config(roots: Roots) -> aws_config::SdkConfig {
    let store = match roots {
        Roots::Aws => TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS),
        Roots::System => TrustStore::default(),
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let http = match TlsContext::builder().with_trust_store(store).build() {
        Ok(tls) => builder.tls_context(tls).build_https(),
        Err(e) => {
            tracing::warn!(error = %e, "TLS settings refused; using the SDK's defaults");
            builder.build_https()
        }
    };
    aws_config::from_env().http_client(http).load().await
}

/// The single table in DynamoDB and the tenants on AWS (registry in the table, token vault in
/// Secrets Manager under `secret_prefix`), with clients from one configuration.
pub fn on_aws(
    config: &aws_config::SdkConfig,
    table: impl Into<String>,
    secret_prefix: impl Into<String>,
) -> (Arc<dyn Table>, Tenants) {
    let store: Arc<dyn Table> = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(config), table));
    let vault = Arc::new(SecretsDocs::new(aws_sdk_secretsmanager::Client::new(config), secret_prefix));
    (Arc::clone(&store), Tenants::on_table(store, vault))
}
