//! Discovery documents (RFC 7644 §4): what Inlet really supports, nothing more.

use super::list::MAX_COUNT;
use super::schema::{ResourceType, Schemas};
use serde_json::{Value, json};

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A per-tenant secret token sent as 'Authorization: Bearer <token>'.",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

fn resource_type_json(rt: &ResourceType, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.core.description,
        "schema": rt.core.id,
        // An extension holding a required attribute must be in every new resource (RFC 7643 §6).
        "schemaExtensions": rt.extensions.iter()
            .map(|s| json!({"schema": s.id, "required": s.attributes.iter().any(|a| a.required)}))
            .collect::<Vec<_>>(),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", rt.name)},
    })
}

/// All resource types of a tenant, or the one named `id` (case-insensitively).
pub fn resource_types(base: &str, id: Option<&str>, schemas: &Schemas) -> Option<Vec<Value>> {
    let all = [&schemas.user, &schemas.group];
    let chosen: Vec<Value> = all
        .iter()
        .filter(|rt| id.is_none_or(|id| rt.name.eq_ignore_ascii_case(id)))
        .map(|rt| resource_type_json(rt, base))
        .collect();
    (!chosen.is_empty()).then_some(chosen)
}

/// All schemas of a tenant (with the attributes it declared), or the one whose URN is `id`.
pub fn schemas(base: &str, id: Option<&str>, schemas: &Schemas) -> Option<Vec<Value>> {
    let chosen: Vec<Value> = schemas
        .all()
        .into_iter()
        .filter(|s| id.is_none_or(|id| s.id.eq_ignore_ascii_case(id)))
        .map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id)))
        .collect();
    (!chosen.is_empty()).then_some(chosen)
}
