//! Listing and filtering. Equality on `id`, userName / group displayName and
//! `externalId` is answered from an index; other filters scan the tenant's
//! collection (GSI1) and evaluate the filter on each resource.

use super::directory::{Directory, Resource, key_of, marker_target};
use super::error::DomainResult;
use super::members::get_all;
use super::records::{Stored, valid_id};
use super::tenant::TenantId;
use crate::scim::filter::{Filter, matches, values_at};
use crate::scim::list::ListQuery;
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, ResourceType};
use crate::store::keys::{self, COUNTER_SHARDS};
use crate::store::{Index, Item, Query};
use serde_json::Value;
use std::cmp::Ordering;

/// Items read per page while scanning a collection.
const SCAN_PAGE: usize = 1000;

pub struct ListPage {
    pub total: usize,
    pub resources: Vec<Stored>,
}

impl Directory {
    pub async fn list(&self, t: &TenantId, res: Resource, q: &ListQuery) -> DomainResult<ListPage> {
        let rt = res.rt();
        let skip = q.start_index - 1;
        let all = match self.indexed_candidates(t, res, q).await? {
            Some(candidates) => {
                let mut found: Vec<Stored> =
                    candidates.into_iter().filter(|s| q.filter.as_ref().is_none_or(|f| keep(f, s, rt))).collect();
                found.sort_by(|a, b| a.id.cmp(&b.id));
                found
            }
            None if q.filter.is_none() && q.sort_by.is_none() => {
                let total = self.count(t, res).await?;
                let resources = if q.count == 0 { Vec::new() } else { self.page(t, res, skip, q.count).await? };
                return Ok(ListPage { total, resources });
            }
            // Without sortBy the walk keeps only the page, however many match.
            None if q.sort_by.is_none() => {
                let (total, resources) = self.scan(t, res, q.filter.as_ref(), skip, q.count).await?;
                return Ok(ListPage { total, resources });
            }
            None => self.scan(t, res, q.filter.as_ref(), 0, usize::MAX).await?.1,
        };
        let all = sort(all, q, rt);
        Ok(ListPage { total: all.len(), resources: all.into_iter().skip(skip).take(q.count).collect() })
    }

    /// Resources that can be found by index for this filter, if any index applies.
    async fn indexed_candidates(
        &self,
        t: &TenantId,
        res: Resource,
        q: &ListQuery,
    ) -> DomainResult<Option<Vec<Stored>>> {
        let Some(filter) = &q.filter else { return Ok(None) };
        let rt = res.rt();
        for (path, value) in filter.required_equalities() {
            if !is_core(path, rt) {
                continue;
            }
            let Some(attr) = path.locate(rt) else { continue };
            let ids: Vec<String> = match attr.top.name {
                "id" => vec![value.to_owned()],
                "externalId" => {
                    let partition = keys::external_id_partition(t.as_str(), res.kind(), value);
                    let page = self.table.query(&Query::new(Index::Table, partition, "", SCAN_PAGE)).await?;
                    page.items.into_iter().map(|i| i.key.sk).collect()
                }
                _ if attr.top.required => {
                    match self.table.get(&keys::name_marker(t.as_str(), res.kind(), value)).await? {
                        Some(marker) => marker_target(&marker).into_iter().collect(),
                        None => Vec::new(),
                    }
                }
                _ => continue,
            };
            let keys: Vec<_> = ids.iter().filter(|id| valid_id(id)).map(|id| key_of(t, res, id)).collect();
            let items = match keys.as_slice() {
                [one] => self.table.get(one).await?.into_iter().collect(),
                _ => get_all(self.table.as_ref(), &keys).await?,
            };
            return Ok(Some(decode_all(items)?));
        }
        Ok(None)
    }

    /// How many resources of this kind the tenant has, from the sharded counters.
    pub async fn count(&self, t: &TenantId, res: Resource) -> DomainResult<usize> {
        let shards: Vec<_> = (0..COUNTER_SHARDS).map(|s| keys::counter_shard(t.as_str(), res.kind(), s)).collect();
        let total: i64 = self.table.get_many(&shards).await?.iter().map(|i| i.count).sum();
        Ok(usize::try_from(total).unwrap_or(0))
    }

    /// One unfiltered page in id order: the store skips to `skip` without reading the
    /// skipped items.
    async fn page(&self, t: &TenantId, res: Resource, skip: usize, take: usize) -> DomainResult<Vec<Stored>> {
        let q = Query {
            skip,
            ..Query::new(Index::Gsi1, keys::collection(t.as_str(), res.kind()), "", take.clamp(1, SCAN_PAGE))
        };
        Ok(decode_all(self.table.query(&q).await?.items)?.into_iter().take(take).collect())
    }

    /// Walks the whole collection in id order: how many resources match `filter`, and
    /// the matching ones after the first `skip`, at most `take`.
    async fn scan(
        &self,
        t: &TenantId,
        res: Resource,
        filter: Option<&Filter>,
        skip: usize,
        take: usize,
    ) -> DomainResult<(usize, Vec<Stored>)> {
        let rt = res.rt();
        let mut q = Query::new(Index::Gsi1, keys::collection(t.as_str(), res.kind()), "", SCAN_PAGE);
        let (mut matched, mut out) = (0usize, Vec::new());
        loop {
            let page = self.table.query(&q).await?;
            for s in decode_all(page.items)? {
                if filter.is_none_or(|f| keep(f, &s, rt)) {
                    if matched >= skip && out.len() < take {
                        out.push(s);
                    }
                    matched += 1;
                }
            }
            match page.next {
                Some(c) => q.after = Some(c),
                None => return Ok((matched, out)),
            }
        }
    }
}

fn keep(filter: &Filter, s: &Stored, rt: &ResourceType) -> bool {
    matches(filter, &s.render(rt, ""), rt)
}

fn is_core(path: &AttrPath, rt: &ResourceType) -> bool {
    path.sub.is_none() && path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(rt.core.id))
}

fn decode_all(items: Vec<Item>) -> DomainResult<Vec<Stored>> {
    items.into_iter().map(|i| Stored::decode(&i.body, i.version)).collect()
}

/// A comparable sort value; missing values sort last in either order.
#[derive(PartialEq, PartialOrd)]
enum SortValue {
    Num(f64),
    Text(String),
}

fn sort_value(s: &Stored, rt: &ResourceType, path: &AttrPath) -> Option<SortValue> {
    let rendered = s.render(rt, "");
    let (attr, values) = values_at(&rendered, rt, path)?;
    let v = values.first()?;
    Some(match (attr.kind, v) {
        (_, Value::Number(n)) => SortValue::Num(n.as_f64()?),
        (_, Value::Bool(b)) => SortValue::Num(f64::from(u8::from(*b))),
        (AttrType::DateTime, Value::String(x)) => {
            SortValue::Num(crate::scim::filter::parse_time(x)?.unix_timestamp_nanos() as f64)
        }
        (_, Value::String(x)) if attr.case_exact => SortValue::Text(x.clone()),
        (_, Value::String(x)) => SortValue::Text(x.to_lowercase()),
        _ => return None,
    })
}

/// Stable sort by `sortBy`, ties keeping id order.
fn sort(items: Vec<Stored>, q: &ListQuery, rt: &ResourceType) -> Vec<Stored> {
    let Some(path) = &q.sort_by else { return items };
    let mut keyed: Vec<(Option<SortValue>, Stored)> =
        items.into_iter().map(|s| (sort_value(&s, rt, path), s)).collect();
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (Some(a), Some(b)) => {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if q.descending { o.reverse() } else { o }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    keyed.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::list::{ListParams, ListQuery};
    use crate::store::embedded::EmbeddedStore;
    use futures::future::join_all;
    use std::sync::Arc;

    #[tokio::test]
    async fn sort_by_covers_every_user_beyond_one_scan_page() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        let t = TenantId::parse("t").unwrap();
        let n = SCAN_PAGE + 5;
        // Concurrent creates share group commits, so this stays fast.
        let created = join_all((0..n).map(|i| {
            let body = serde_json::json!({"userName": format!("u{i:05}")});
            let (directory, t) = (directory.clone(), t.clone());
            async move { directory.create(&t, Resource::User, &body).await }
        }))
        .await;
        assert!(created.iter().all(Result::is_ok));
        let params = ListParams {
            sort_by: Some("userName"),
            sort_order: Some("descending"),
            count: Some("2"),
            ..Default::default()
        };
        let q = ListQuery::parse(&params, Resource::User.rt()).unwrap();
        let page = directory.list(&t, Resource::User, &q).await.unwrap();
        assert_eq!(page.total, n);
        let names: Vec<&str> = page.resources.iter().map(|s| s.unique_name(Resource::User.rt())).collect();
        assert_eq!(names, vec![format!("u{:05}", n - 1), format!("u{:05}", n - 2)]);
    }
}
