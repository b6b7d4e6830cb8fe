//! The admin API of the tokens function, under `/admin/tenants`: tenants and their tokens.
//! In AWS its routes carry IAM authorisation (the Lambda adapter refuses any request
//! without an IAM identity); SCIM tokens mean nothing here.
//!
//! | method | path                                        | does                        |
//! |--------|---------------------------------------------|-----------------------------|
//! | GET    | `/admin/tenants`                            | list tenants                |
//! | POST   | `/admin/tenants`                            | create `{id, name?, settings?}` |
//! | GET    | `/admin/tenants/{t}`                        | show                        |
//! | PATCH  | `/admin/tenants/{t}`                        | update `{name?, status?, settings?}` (disable: `status: "disabled"`) |
//! | GET    | `/admin/tenants/{t}/tokens`                 | list token metadata         |
//! | POST   | `/admin/tenants/{t}/tokens`                 | issue `{label?, expiresInSeconds?}` (201, token shown once) |
//! | POST   | `/admin/tenants/{t}/tokens/{id}/rotate`     | rotate `{overlapSeconds?, label?, expiresInSeconds?}` |
//! | DELETE | `/admin/tenants/{t}/tokens/{id}`            | revoke (204)                |
//! | GET    | `/admin/tenants/{t}/users`, `…/groups`      | the directory: SCIM list parameters, SCIM ListResponse (groups with members) |
//! | …      | `/admin/tenants/{t}/users…`, `…/groups…`, `…/activity` | the vendor's own writes and the activity log ([`vendor`]) |
//! | …      | `/admin/tenants/{t}/okta…`                  | the Okta API pull ([`okta`]) |
//! | GET    | `/admin/tenants/{t}/schema`                 | the tenant's declared attributes `{version, attributes}` |
//! | PUT    | `/admin/tenants/{t}/schema`                 | replace them with `{attributes: [ … ]}` (RFC 7643 §7 definitions + `schema`) |

pub mod directory;
#[cfg(feature = "okta")]
pub mod okta;
pub mod vendor;

use super::error::ApiError;
use crate::domain::audit::TenantAdmin;
use crate::domain::tenant::{Settings, TenantChange, TenantId, Tenants};
use crate::domain::{Directory, Resource};
use crate::domain::{DomainError, DomainResult};
use crate::pull::Integrations;
use crate::scim::error::ScimError;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// How long a rotated-out token keeps working unless the request says otherwise.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateTenant {
    id: String,
    name: Option<String>,
    #[serde(default)]
    settings: Settings,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewToken {
    label: Option<String>,
    expires_in_seconds: Option<u64>,
    /// Rotation only.
    overlap_seconds: Option<u64>,
}

fn json_ok(status: StatusCode, value: &impl serde::Serialize) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(serde_json::to_vec(value).unwrap_or_default()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn scim_ok(value: &serde_json::Value) -> Response<Bytes> {
    super::error::json_response(StatusCode::OK, value)
}

fn parse<T: DeserializeOwned>(raw: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ScimError::invalid_value(format!("invalid request: {e}")).into())
}

/// An optional body: none means every field's default.
fn body<T: DeserializeOwned + Default>(raw: &Bytes) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse(raw)
}

fn tenant_id(text: &str) -> DomainResult<TenantId> {
    TenantId::parse(text).ok_or_else(|| {
        ScimError::invalid_value("a tenant id is 1-63 of a-z, 0-9 and '-', not starting or ending with '-'").into()
    })
}

fn label(l: Option<&str>) -> DomainResult<Option<&str>> {
    match l {
        Some(l) if l.chars().count() > 100 || l.chars().any(char::is_control) => {
            Err(ScimError::invalid_value("a token label is at most 100 printable characters").into())
        }
        other => Ok(other),
    }
}

fn resource(kind: &str) -> Resource {
    if kind == "users" { Resource::User } else { Resource::Group }
}

/// What the admin API works on (built by `startup`).
#[derive(Clone)]
pub struct Admin {
    pub tenants: Tenants,
    pub directory: Directory,
    pub integrations: Integrations,
}

/// Handles one admin request; `caller` names the IAM identity, for the log.
pub async fn handle(admin: &Admin, req: Request<Bytes>, caller: &str) -> Response<Bytes> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let result = route(admin, req, caller).await;
    let status = result.as_ref().map_or_else(|_| 0, |r| r.status().as_u16());
    // What was done and by whom; never a body (it may hold a token).
    tracing::info!(%method, path, caller, status, "admin request");
    result.unwrap_or_else(ApiError::into_response)
}

async fn route(admin: &Admin, req: Request<Bytes>, principal: &str) -> Result<Response<Bytes>, ApiError> {
    let tenants = &admin.tenants;
    let audit = TenantAdmin {
        tenants,
        directory: &admin.directory,
        actor: crate::domain::Actor::Admin { principal: principal.to_owned() },
    };
    let (parts, raw) = req.into_parts();
    let rest = parts.uri.path().trim_end_matches('/').strip_prefix("/admin/tenants").ok_or(ApiError::NoRoute)?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let m = &parts.method;
    let ok = StatusCode::OK;
    Ok(match segments.as_slice() {
        [] if m == Method::GET => json_ok(ok, &tenants.list().await?),
        [] if m == Method::POST => {
            let c: CreateTenant = parse(&raw)?;
            json_ok(StatusCode::CREATED, &audit.create(&tenant_id(&c.id)?, c.name.as_deref(), c.settings).await?)
        }
        [t] if m == Method::GET => json_ok(ok, &tenants.show(&tenant_id(t)?).await?),
        [t] if m == Method::PATCH => {
            let change: TenantChange = body(&raw)?;
            json_ok(ok, &audit.update(&tenant_id(t)?, change).await?)
        }
        [t, "tokens"] if m == Method::GET => json_ok(ok, &tenants.tokens(&tenant_id(t)?).await?),
        [t, "tokens"] if m == Method::POST => {
            let n: NewToken = body(&raw)?;
            let ttl = n.expires_in_seconds.map(Duration::from_secs);
            json_ok(StatusCode::CREATED, &audit.issue(&tenant_id(t)?, label(n.label.as_deref())?, ttl).await?)
        }
        [t, "tokens", id, "rotate"] if m == Method::POST => {
            let n: NewToken = body(&raw)?;
            let overlap = n.overlap_seconds.map_or(DEFAULT_OVERLAP, Duration::from_secs);
            let ttl = n.expires_in_seconds.map(Duration::from_secs);
            let issued = audit.rotate(&tenant_id(t)?, id, overlap, label(n.label.as_deref())?, ttl).await?;
            json_ok(StatusCode::CREATED, &issued)
        }
        [t, "tokens", id] if m == Method::DELETE => {
            audit.revoke(&tenant_id(t)?, id).await?;
            let mut r = Response::new(Bytes::new());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        [t, kind @ ("users" | "groups")] if m == Method::GET => {
            let c = vendor::caller(admin, &tenant_id(t)?, principal).await?;
            let query: Vec<(String, String)> =
                form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
            scim_ok(&directory::list(&admin.directory, &c, resource(kind), &query).await?)
        }
        [t, kind @ ("users" | "groups")] if m == Method::POST => {
            let c = vendor::caller(admin, &tenant_id(t)?, principal).await?;
            vendor::create(admin, &c, resource(kind), &raw).await?
        }
        [t, kind @ ("users" | "groups"), id] => {
            let c = vendor::caller(admin, &tenant_id(t)?, principal).await?;
            vendor::resource(admin, &c, m, resource(kind), id, &raw).await?
        }
        [t, "schema"] if m == Method::GET => json_ok(ok, &tenants.show(&tenant_id(t)?).await?.schema.to_json()),
        [t, "schema"] if m == Method::PUT => {
            let doc: Value = body(&raw)?;
            json_ok(ok, &audit.apply_schema(&tenant_id(t)?, &doc).await?.to_json())
        }
        [t, "activity"] if m == Method::GET => {
            let query: Vec<(String, String)> =
                form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
            vendor::log(admin, &tenant_id(t)?, &query).await?
        }
        #[cfg(feature = "okta")]
        [t, "okta"] if m == Method::GET => json_ok(ok, &okta::status(admin, &tenant_id(t)?).await?),
        #[cfg(feature = "okta")]
        [t, "okta"] if m == Method::PUT => json_ok(ok, &okta::configure(admin, &tenant_id(t)?, &raw).await?),
        #[cfg(feature = "okta")]
        [t, "okta"] if m == Method::DELETE => {
            okta::disable(admin, &tenant_id(t)?).await?;
            let mut r = Response::new(Bytes::new());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        #[cfg(feature = "okta")]
        [t, "okta", "sync"] if m == Method::POST => {
            json_ok(StatusCode::ACCEPTED, &okta::sync_soon(admin, &tenant_id(t)?).await?)
        }
        [_, "users" | "groups" | "okta" | "activity" | "schema"] | [_, "okta", "sync"] => {
            return Err(ApiError::MethodNotAllowed);
        }
        [] | [_] | [_, "tokens"] | [_, "tokens", _] | [_, "tokens", _, "rotate"] => {
            return Err(ApiError::MethodNotAllowed);
        }
        _ => return Err(DomainError::NotFound("admin route".into()).into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    async fn call(t: &Admin, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let raw = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = Request::builder().method(method).uri(path).body(raw).unwrap();
        let r = handle(t, req, "arn:aws:iam::123456789012:user/test").await;
        (r.status().as_u16(), serde_json::from_slice(r.body()).unwrap_or(Value::Null))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_admin_api_manages_tenants_and_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::startup::Storage::Embedded { data_dir: dir.path().into() };
        let t = crate::startup::Services::build(&storage).await.unwrap().admin();
        let (s, created) =
            call(&t, "POST", "/admin/tenants", Some(json!({"id": "acme", "settings": {"sendEnrollmentEmail": true}})))
                .await;
        assert_eq!(
            (s, created["settings"]["sendEnrollmentEmail"].clone(), created["settings"]["mode"].clone()),
            (201, json!(true), json!("scim"))
        );
        assert_eq!(call(&t, "POST", "/admin/tenants", Some(json!({"id": "acme"}))).await.0, 409);
        assert_eq!(call(&t, "POST", "/admin/tenants", Some(json!({"id": "Bad_Id"}))).await.0, 400);
        assert_eq!(
            call(&t, "POST", "/admin/tenants", Some(json!({"id": "b", "settings": {"mode": "both"}}))).await.0,
            400
        );
        assert_eq!(call(&t, "GET", "/admin/tenants", None).await.1.as_array().map(Vec::len), Some(1));
        let (s, issued) = call(&t, "POST", "/admin/tenants/acme/tokens", Some(json!({"label": "okta"}))).await;
        assert_eq!(s, 201);
        let token_id = issued["id"].as_str().unwrap().to_owned();
        assert!(issued["token"].as_str().unwrap().starts_with("inlet_"));
        let (s, listed) = call(&t, "GET", "/admin/tenants/acme/tokens", None).await;
        assert_eq!((s, listed[0]["id"].as_str()), (200, Some(token_id.as_str())));
        assert!(listed[0].get("token").is_none());
        let (s, rotated) = call(&t, "POST", &format!("/admin/tenants/acme/tokens/{token_id}/rotate"), None).await;
        assert_eq!(s, 201);
        assert_ne!(rotated["id"], json!(token_id));
        assert_eq!(call(&t, "DELETE", &format!("/admin/tenants/acme/tokens/{token_id}"), None).await.0, 204);
        assert_eq!(call(&t, "DELETE", &format!("/admin/tenants/acme/tokens/{token_id}"), None).await.0, 404);
        let (s, disabled) = call(&t, "PATCH", "/admin/tenants/acme", Some(json!({"status": "disabled"}))).await;
        assert_eq!((s, disabled["status"].as_str()), (200, Some("disabled")));
        assert_eq!(call(&t, "PATCH", "/admin/tenants/acme", Some(json!({"status": "gone"}))).await.0, 400);
        assert_eq!(call(&t, "GET", "/admin/tenants/nope", None).await.0, 404);
        assert_eq!(call(&t, "PUT", "/admin/tenants/acme", None).await.0, 405);
        assert_eq!(call(&t, "GET", "/admin/elsewhere", None).await.0, 404);
        assert_eq!(call(&t, "POST", "/admin/tenants/acme/tokens", Some(json!({"expiresInSeconds": -1}))).await.0, 400);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_vendor_writes_manual_records_and_reads_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::startup::Storage::Embedded { data_dir: dir.path().into() };
        let t = crate::startup::Services::build(&storage).await.unwrap().admin();
        assert_eq!(call(&t, "POST", "/admin/tenants", Some(json!({"id": "acme"}))).await.0, 201);
        let (s, u) = call(&t, "POST", "/admin/tenants/acme/users", Some(json!({"userName": "ada"}))).await;
        assert_eq!(
            (s, u["urn:ietf:params:scim:schemas:extension:inlet:2.0:Source"]["kind"].as_str()),
            (201, Some("manual"))
        );
        let id = u["id"].as_str().unwrap().to_owned();
        assert_eq!(call(&t, "POST", "/admin/tenants/acme/users", Some(json!({"userName": "ADA"}))).await.0, 409);
        assert_eq!(
            call(&t, "POST", "/admin/tenants/acme/users", Some(json!({"displayName": "no userName"}))).await.0,
            400
        );
        let off = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        let (s, patched) = call(&t, "PATCH", &format!("/admin/tenants/acme/users/{id}"), Some(off)).await;
        assert_eq!((s, patched["active"].clone()), (200, json!(false)));
        let (s, g) = call(
            &t,
            "POST",
            "/admin/tenants/acme/groups",
            Some(json!({"displayName": "eng", "members": [{"value": id}]})),
        )
        .await;
        assert_eq!((s, g["members"][0]["value"].as_str()), (201, Some(id.as_str())));
        assert_eq!(call(&t, "DELETE", &format!("/admin/tenants/acme/users/{id}"), None).await.0, 204);
        assert_eq!(call(&t, "GET", &format!("/admin/tenants/acme/users/{id}"), None).await.0, 404);
        let (s, log) = call(&t, "GET", "/admin/tenants/acme/activity?count=3", None).await;
        assert_eq!(s, 200);
        let next = log["next"].as_str().unwrap();
        let (_, older) = call(&t, "GET", &format!("/admin/tenants/acme/activity?count=10&cursor={next}"), None).await;
        assert!(older["next"].is_null());
        let all: Vec<&Value> =
            log["entries"].as_array().unwrap().iter().chain(older["entries"].as_array().unwrap()).collect();
        let times: Vec<&str> = all.iter().filter_map(|e| e["time"].as_str()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first across pages: {times:?}");
        let mut kinds: Vec<&str> = all.iter().filter_map(|e| e["type"].as_str()).collect();
        kinds.sort_unstable();
        let want = ["inlet.group.created", "inlet.group.members_added", "inlet.tenant.created", "inlet.user.created"];
        let mut want: Vec<&str> = want.into_iter().chain(["inlet.user.deactivated", "inlet.user.deleted"]).collect();
        want.sort_unstable();
        assert_eq!(kinds, want, "every action once, across the pages");
        assert_eq!(all[0]["actor"], json!({"kind": "admin", "principal": "arn:aws:iam::123456789012:user/test"}));
        let (_, mine) =
            call(&t, "GET", &format!("/admin/tenants/acme/activity?resource={id}&action=created"), None).await;
        assert_eq!(mine["entries"].as_array().map(Vec::len), Some(1));
        assert_eq!(call(&t, "GET", "/admin/tenants/acme/activity?since=yesterday", None).await.0, 400);
    }
}
