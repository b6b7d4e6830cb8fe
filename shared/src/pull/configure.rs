//! Checking an integration's credentials the way Okta's "Test API Credentials" does: the
//! org's metadata (`/.well-known/okta-organization`, which also gives the org id that makes
//! an org unique), then one page of the application's users, which proves the token and the
//! application id together.

use super::integration::{check_app_id, check_interval};
use super::{NewIntegration, PullError, PullResult};
use crate::okta::{ApiToken, Limits, OktaClient, OktaError, OrgUrl};

/// What a configure request names.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub domain: String,
    pub app_id: String,
    pub token: String,
    pub interval_seconds: u64,
}

/// A refusal from Okta, said so that an admin knows what to fix (never with the token).
fn explain(e: &OktaError, app_id: &str) -> PullError {
    let code = e.code().unwrap_or("");
    PullError::Okta(match (e, code) {
        (OktaError::InvalidToken { .. }, _) => format!(
            "Okta refused the API token ({}): it is invalid, expired (unused for 30 days) or its creator was \
             deactivated; create a new one under Security > API > Tokens",
            if code.is_empty() { "HTTP 401" } else { code }
        ),
        (OktaError::NotFound { .. }, _) => format!(
            "Okta has no application {app_id} in this org ({}): copy the id from the application's URL in the \
             Admin Console (…/admin/app/…/instance/0oa…/)",
            if code.is_empty() { "HTTP 404" } else { code }
        ),
        (OktaError::Forbidden { .. }, _) => format!(
            "the API token may not read this application's assignments ({}): create it as a Read-Only \
             Administrator (or an admin who can see the app)",
            if code.is_empty() { "HTTP 403" } else { code }
        ),
        (other, _) => format!("could not check the credentials with Okta: {other}"),
    })
}

/// A failure of `/.well-known/okta-organization` (asked without the token).
fn not_an_org(e: &OktaError, domain: &str) -> PullError {
    PullError::Okta(match e {
        OktaError::NotFound { .. } | OktaError::BadResponse(_) => format!(
            "{domain} does not answer as an Okta org (no /.well-known/okta-organization document): use the org's \
             URL, e.g. https://acme.okta.com or its custom domain"
        ),
        other => format!("could not read the org's metadata at {domain}: {other}"),
    })
}

/// Checks `c` against Okta and returns what to record.
pub async fn check(c: Credentials, limits: Limits) -> PullResult<NewIntegration> {
    check_interval(c.interval_seconds)?;
    check_app_id(&c.app_id)?;
    let org = OrgUrl::parse(&c.domain).map_err(|e| PullError::Invalid(e.to_string()))?;
    let token = ApiToken::new(c.token.trim().to_owned()).map_err(|e| PullError::Invalid(e.to_string()))?;
    let client = OktaClient::new(org.clone(), token, limits).map_err(|e| PullError::Invalid(e.to_string()))?;
    // The metadata first, on its own: what fails there says the URL is not an Okta org's.
    let meta = client.org_metadata().await.map_err(|e| not_an_org(&e, org.as_str()))?;
    client.check_app(&c.app_id).await.map_err(|e| explain(&e, &c.app_id))?;
    Ok(NewIntegration {
        domain: org.as_str().to_owned(),
        app_id: c.app_id,
        org_id: meta.id,
        interval_seconds: c.interval_seconds,
        token: c.token.trim().to_owned(),
    })
}
