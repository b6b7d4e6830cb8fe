//! One AWS SDK configuration per process, with one HTTPS client shared by every service
//! client (DynamoDB, Secrets Manager, EventBridge).
//!
//! Two flavours. [`config`] is for workstations (the CLI, `inlet serve`, tests): the SDK's
//! default credential chain and the system's trust roots. [`lambda_config`] is for the
//! functions, and is shaped by cold-start time (`inlet-bench --lambda-init`):
//! - Credentials from the environment only. Lambda puts the execution role's credentials
//!   there; the default chain would also build an STS client (web identity), an IMDS client
//!   and profile providers that a function never uses (~0.3 ms of every cold start).
//! - Trust roots: AWS service endpoints present certificates of Amazon Trust Services
//!   (Amazon Root CA 1–4, cross-signed by Starfield Services Root CA G2). Trusting just
//!   those five (`certs/aws-roots.pem`, from Debian's ca-certificates) instead of the ~140
//!   system roots spares the parsing of the system bundle (~5 ms). `INLET_TLS_ROOTS=system`
//!   restores the system roots (e.g. behind a TLS-inspecting proxy).

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

const AWS_ROOTS: &[u8] = include_bytes!("../certs/aws-roots.pem");

/// The SDK configuration for a workstation: region, credentials (default chain) and
/// endpoint overrides such as `AWS_ENDPOINT_URL_DYNAMODB` from the environment and profiles;
/// the system's trust roots.
pub async fn config() -> aws_config::SdkConfig {
    aws_config::from_env().http_client(https_client(TrustStore::default())).load().await
}

/// The SDK configuration inside a Lambda function: as [`config`], but with credentials from
/// the environment and Amazon Trust Services' roots (see the module notes).
pub async fn lambda_config() -> aws_config::SdkConfig {
    let roots = match std::env::var("INLET_TLS_ROOTS").as_deref() {
        Ok("system") => TrustStore::default(),
        _ => TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS),
    };
    aws_config::from_env()
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .http_client(https_client(roots))
        .load()
        .await
}

/// The EventBridge client of the events publisher, on [`lambda_config`] (one per cold start).
#[cfg(feature = "eventbridge")]
pub async fn lambda_eventbridge() -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&lambda_config().await)
}

fn https_client(roots: TrustStore) -> SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let client = match TlsContext::builder().with_trust_store(roots).build() {
        Ok(tls) => builder.tls_context(tls).build_https(),
        Err(e) => {
            tracing::warn!(error = %e, "TLS settings refused; using the SDK's defaults");
            builder.build_https()
        }
    };
    SharedHttpClient::new(BuiltOnFirstUse(client))
}

/// The SDK's HTTPS client, minus one habit: when a service client is constructed, it builds
/// a TLS connector (parsing the trust roots) only to check that it can, and throws it away;
/// the connector it keeps is built, once per process, by the first request. With two
/// service clients that check cost two root-store parses per cold start.
#[derive(Debug)]
struct BuiltOnFirstUse(SharedHttpClient);

impl HttpClient for BuiltOnFirstUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        _: &RuntimeComponentsBuilder,
        _: &ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        Ok(())
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}
