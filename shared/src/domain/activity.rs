//! The activity log: one entry per provisioning action, written in the same transaction as
//! the change it records (so there is no change without its entry and no entry without its
//! change). An entry of a user or group change is also the outbox record of its event
//! (`crate::events`): its body is the event, exactly as consumers receive it.
//!
//! Entries are spread over [`keys::ACTIVITY_SHARDS`] partitions per tenant by their event
//! id, and listed a second time in GSI1 under their subject (the resource, token or sync),
//! so a query by resource reads one partition and a query by time merges the shards.

use super::actor::{Actor, Caller, Source};
use super::directory::Resource;
use super::error::{DomainError, DomainResult};
use super::records::{Stored, timestamp};
use super::tenant::TenantId;
use crate::store::keys::{self, ACTIVITY_SHARDS};
use crate::store::{Condition, Index, Item, Query, StoreError, Table, Write};
use serde_json::{Map, Value, json};
use std::time::Duration;
use time::OffsetDateTime;

/// How long entries are kept unless configured (`INLET_ACTIVITY_RETENTION_DAYS`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// Most member ids one entry lists: a large member change is several entries, each well
/// under DynamoDB's 400 KB item limit.
pub const IDS_PER_ENTRY: usize = 500;

/// One action to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The event type: `inlet.user.created`, `inlet.token.issued`, …
    pub kind: String,
    pub subject: Subject,
    /// The names of the attributes that changed (never their values).
    pub changed: Vec<String>,
    /// Member ids added or removed (membership entries).
    pub members: Vec<String>,
    /// The resource's representation after the change (before it, for a delete).
    pub data: Option<Value>,
    /// Anything else the entry says (a token's id and label, a sync's counts).
    pub detail: Option<Value>,
}

/// What an entry is about.
#[derive(Debug, Clone)]
pub enum Subject {
    Record {
        res: Resource,
        id: String,
        version: u64,
        source: Source,
    },
    /// A token, the tenant's settings, an Okta sync run: named by this id.
    Other {
        kind: &'static str,
        id: String,
    },
}

impl Entry {
    pub fn record(kind: &str, c: &Caller, res: Resource, s: &Stored) -> Self {
        Self {
            kind: format!("inlet.{}.{kind}", noun(res)),
            subject: Subject::Record { res, id: s.id.clone(), version: s.version, source: s.source.clone() },
            changed: Vec::new(),
            members: Vec::new(),
            data: Some(s.render(c.rt(res), "")),
            detail: None,
        }
    }

    pub fn other(kind: &str, subject_kind: &'static str, id: &str, detail: Value) -> Self {
        Self {
            kind: format!("inlet.{kind}"),
            subject: Subject::Other { kind: subject_kind, id: id.to_owned() },
            changed: Vec::new(),
            members: Vec::new(),
            data: None,
            detail: Some(detail),
        }
    }

    fn subject_id(&self) -> &str {
        match &self.subject {
            Subject::Record { id, .. } | Subject::Other { id, .. } => id,
        }
    }
}

fn noun(res: Resource) -> &'static str {
    match res {
        Resource::User => "user",
        Resource::Group => "group",
    }
}

fn now_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The item of an entry, to put in the change's own transaction.
pub fn item(t: &TenantId, actor: &Actor, e: &Entry, position: usize, retention: Duration) -> DomainResult<Item> {
    let at = OffsetDateTime::now_utc();
    let ms = now_ms(at);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut body = Map::new();
    body.insert("id".into(), json!(id));
    body.insert("type".into(), json!(e.kind));
    body.insert("time".into(), json!(timestamp(at)));
    body.insert("tenant".into(), json!(t.as_str()));
    body.insert("actor".into(), serde_json::to_value(actor).map_err(encode)?);
    match &e.subject {
        Subject::Record { res, id: rid, version, source } => {
            body.insert("source".into(), serde_json::to_value(source).map_err(encode)?);
            body.insert("resource".into(), json!({"type": res.name(), "id": rid, "version": version}));
        }
        Subject::Other { kind, id: sid } => {
            body.insert("resource".into(), json!({"type": kind, "id": sid}));
        }
    }
    if !e.changed.is_empty() {
        body.insert("changed".into(), json!(e.changed));
    }
    if !e.members.is_empty() {
        body.insert("members".into(), json!(e.members));
    }
    // A change is recorded only when it commits; a sync run says how it ended.
    let result = e.detail.as_ref().and_then(|d| d.get("outcome")).and_then(Value::as_str).unwrap_or("ok");
    body.insert("result".into(), json!(result));
    if let Some(d) = &e.detail {
        body.insert("detail".into(), d.clone());
    }
    if let Some(d) = &e.data {
        body.insert("data".into(), d.clone());
    }
    let expires = at.unix_timestamp() + i64::try_from(retention.as_secs()).unwrap_or(i64::MAX / 2);
    Ok(Item {
        key: keys::activity(t.as_str(), ms, &keys::activity_tail(position, &id)),
        gsi1: Some(keys::activity_of(t.as_str(), e.subject_id(), ms, &keys::activity_tail(position, &id))),
        version: 0,
        count: 0,
        body: serde_json::to_vec(&Value::Object(body)).map_err(encode)?,
        expires: Some(expires),
    })
}

fn encode(e: serde_json::Error) -> DomainError {
    DomainError::Store(StoreError::Backend(format!("unencodable activity entry: {e}")))
}

/// The writes that record `entries` (each a new item, so the transaction fails rather
/// than overwrite one).
pub fn writes(c: &Caller, entries: &[Entry], retention: Duration) -> DomainResult<Vec<Write>> {
    puts(&c.tenant, &c.actor, entries, retention)
}

fn puts(t: &TenantId, actor: &Actor, entries: &[Entry], retention: Duration) -> DomainResult<Vec<Write>> {
    entries
        .iter()
        .enumerate()
        .map(|(n, e)| Ok(Write::Put { item: item(t, actor, e, n, retention)?, cond: Condition::NotExists }))
        .collect()
}

/// Membership entries for `ids`, at most [`IDS_PER_ENTRY`] ids each.
pub fn membership(kind: &str, group: &Stored, ids: &[String]) -> Vec<Entry> {
    ids.chunks(IDS_PER_ENTRY)
        .map(|chunk| Entry {
            kind: format!("inlet.group.{kind}"),
            subject: Subject::Record {
                res: Resource::Group,
                id: group.id.clone(),
                version: group.version,
                source: group.source.clone(),
            },
            changed: Vec::new(),
            members: chunk.to_vec(),
            data: None,
            detail: Some(json!({"count": chunk.len()})),
        })
        .collect()
}

/// The attribute names that differ between two stored resources: top-level names, one level
/// deeper for complex attributes and extension objects (`name.givenName`).
pub fn changed(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        match (old.get(name), new.get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let subs: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                let sep = if name.starts_with("urn:") { ":" } else { "." };
                out.extend(subs.into_iter().filter(|s| a.get(*s) != b.get(*s)).map(|s| format!("{name}{sep}{s}")));
            }
            _ => out.push(name.clone()),
        }
    }
    out
}

/// The entries of an update: claimed, deactivated / reactivated (a user's `active` flipped)
/// or updated, with the names of what changed; none for a change of members only (those have
/// their own entries).
pub(crate) fn update_entries(c: &Caller, res: Resource, old: &Stored, new: &Stored, claim: bool) -> Vec<Entry> {
    let changed = changed(&old.known_attrs(c.rt(res)), &new.attrs);
    if changed.is_empty() && !claim {
        return Vec::new();
    }
    let active = |s: &Stored| s.attrs.get("active").and_then(Value::as_bool) != Some(false);
    let kind = match (claim, res, active(old), active(new)) {
        (true, ..) => "claimed",
        (false, Resource::User, true, false) => "deactivated",
        (false, Resource::User, false, true) => "reactivated",
        _ => "updated",
    };
    let mut e = Entry::record(kind, c, res, new);
    e.changed = changed;
    vec![e]
}

pub(crate) fn has_email(s: &Stored) -> bool {
    let Some(Value::Array(emails)) = s.attrs.get("emails") else { return false };
    emails.iter().any(|e| e.get("value").and_then(Value::as_str).is_some_and(|v| !v.trim().is_empty()))
}

/// A query of the log, newest first.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// RFC 3339 bounds, inclusive.
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only entries about this resource (or token, or sync) id.
    pub subject: Option<String>,
    /// Only entries of this type, or whose type ends with `.{action}` (`created`, `deleted`).
    pub action: Option<String>,
    pub limit: usize,
    /// From a previous page: the sort key of its last entry.
    pub before: Option<String>,
}

pub struct LogPage {
    pub entries: Vec<Value>,
    /// Pass as `before` for the next page.
    pub next: Option<String>,
}

/// Most entries one page returns.
pub const MAX_PAGE: usize = 1000;

impl super::Directory {
    /// Records entries in a transaction of their own: for actions whose change no table
    /// transaction spans (tokens, tenant settings, Okta sync runs).
    pub async fn record(&self, t: &TenantId, actor: &Actor, entries: &[Entry]) -> DomainResult<()> {
        Ok(self.table.transact(puts(t, actor, entries, self.retention)?).await?)
    }

    /// One page of a tenant's activity log, newest first.
    pub async fn activity(&self, t: &TenantId, q: &LogQuery) -> DomainResult<LogPage> {
        query(self.table.as_ref(), t, q).await
    }
}

/// One page of a tenant's log, newest first: each shard (or the subject's GSI1 partition) is
/// read newest first within the bounds and the results merged.
pub async fn query(table: &dyn Table, t: &TenantId, q: &LogQuery) -> DomainResult<LogPage> {
    let limit = q.limit.clamp(1, MAX_PAGE);
    let lo = q.since.map_or_else(|| "0".to_owned(), |s| keys::activity_sk(now_ms(s), ""));
    let hi = match (&q.before, q.until) {
        (Some(b), _) => b.clone(),
        (None, Some(u)) => keys::activity_sk(now_ms(u), "~"),
        (None, None) => "~".to_owned(),
    };
    let partitions: Vec<(Index, String)> = match &q.subject {
        Some(s) => vec![(Index::Gsi1, keys::activity_subject(t.as_str(), s))],
        None => (0..ACTIVITY_SHARDS).map(|n| (Index::Table, keys::activity_partition(t.as_str(), n))).collect(),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut found: Vec<(String, Value)> = Vec::new();
    for (index, pk) in partitions {
        let mut query = Query::new(index, pk, "", limit + 1);
        query.reverse = true;
        query.between = Some((lo.clone(), hi.clone()));
        let mut kept = 0;
        loop {
            let page = table.query(&query).await?;
            for item in page.items {
                // The upper bound is the previous page's last entry: inclusive, so skip it.
                if q.before.as_deref() == Some(item.key.sk.as_str()) || item.expires.is_some_and(|e| e <= now) {
                    continue;
                }
                let v: Value = serde_json::from_slice(&item.body)
                    .map_err(|e| DomainError::Store(StoreError::Backend(format!("undecodable activity entry: {e}"))))?;
                if q.action.as_deref().is_some_and(|a| !action_matches(&v, a)) {
                    continue;
                }
                found.push((item.key.sk, v));
                kept += 1;
            }
            match page.next {
                Some(c) if kept <= limit => query.after = Some(c),
                _ => break,
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    let more = found.len() > limit;
    found.truncate(limit);
    let next = if more { found.last().map(|(sk, _)| sk.clone()) } else { None };
    Ok(LogPage { entries: found.into_iter().map(|(_, v)| v).collect(), next })
}

fn action_matches(entry: &Value, action: &str) -> bool {
    let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
    kind == action || kind.strip_prefix("inlet.") == Some(action) || kind.ends_with(&format!(".{action}"))
}
