//! The SCIM request path in process: a tenant with a real token on some [`Services`], and
//! requests through `api::handle` as a Lambda function or `inlet serve` hands them over.

use bytes::Bytes;
use http::{Method, Request, header};
use inlet_shared::api::{self, App, Endpoint};
use inlet_shared::domain::TenantId;
use inlet_shared::domain::tenant::Settings;
use inlet_shared::startup::{AppOptions, Services};
use serde_json::Value;
use std::time::Duration;

const SERVED: [Endpoint; 2] = [Endpoint::Users, Endpoint::Groups];

/// One tenant's SCIM client, in process.
#[derive(Clone)]
pub struct Scim {
    app: App,
    tenant: String,
    bearer: String,
}

impl Scim {
    /// Creates `tenant` on `services` with default settings and issues it a token.
    pub async fn start(services: &Services, tenant: &str) -> Result<Scim, String> {
        let id = TenantId::parse(tenant).ok_or_else(|| format!("bad tenant id {tenant}"))?;
        services.tenants.create(&id, None, Settings::default()).await.map_err(|e| e.to_string())?;
        let issued = services.tenants.issue(&id, Some("bench"), None).await.map_err(|e| e.to_string())?;
        // The serve default: the tenant and its verifiers are read once a minute, not per request.
        let app = services.app(&AppOptions { auth_ttl: Duration::from_secs(60), rate_limit: 0, dev_token: None });
        Ok(Scim { app, tenant: tenant.to_owned(), bearer: format!("Bearer {}", issued.token) })
    }

    /// Sends one request; a status outside 2xx is an error naming it.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let uri = format!("http://bench.local/{}/scim/v2{path}", self.tenant);
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::HOST, "bench.local")
            .header(header::AUTHORIZATION, &self.bearer)
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(bytes)
            .map_err(|e| e.to_string())?;
        let resp = api::handle(&self.app, req, &SERVED).await;
        let status = resp.status();
        let body = resp.into_body();
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {}", String::from_utf8_lossy(&body)));
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{method} {path}: not JSON: {e}"))
    }

    /// Sends a create and returns the new resource's id.
    pub async fn create(&self, path: &str, body: &Value) -> Result<String, String> {
        let created = self.send(Method::POST, path, Some(body)).await?;
        created.get("id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("POST {path}: no id"))
    }
}

/// A user as Okta creates one (about 1 KB: core, enterprise extension, the attributes
/// Okta's SCIM 2.0 app template maps by default).
pub fn okta_user(i: usize) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("user{i:06}@example.com"),
        "externalId": format!("00u{i:017}"),
        "name": {"givenName": "Augusta", "familyName": format!("King-{i}"), "middleName": "Ada",
                 "honorificPrefix": "Ms.", "formatted": format!("Augusta Ada King-{i}")},
        "displayName": format!("Augusta King-{i}"),
        "nickName": "Ada",
        "title": "Analytical Engineer",
        "userType": "Employee",
        "preferredLanguage": "en-GB",
        "locale": "en_GB",
        "timezone": "Europe/London",
        "active": true,
        "emails": [{"primary": true, "value": format!("user{i:06}@example.com"), "type": "work"}],
        "phoneNumbers": [{"primary": true, "value": "+44 20 7946 0958", "type": "work"}],
        "addresses": [{"primary": true, "type": "work", "streetAddress": "12 St James's Square",
                       "locality": "London", "region": "Greater London", "postalCode": "SW1Y 4LB",
                       "country": "GB", "formatted": "12 St James's Square, London SW1Y 4LB"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i:08}"), "costCenter": "R&D 4410", "organization": "Example Ltd",
            "division": "Engineering", "department": "Difference Engines",
            "manager": {"value": "00u0000000000000manager", "displayName": "Charles Babbage"}
        },
        "password": "Sup3r-secret!-not-stored"
    })
}
