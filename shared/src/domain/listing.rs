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
        if let Some(candidates) = self.indexed_candidates(t, res, q).await? {
            let mut found: Vec<Stored> = candidates
                .into_iter()
                .filter(|s| q.filter.as_ref().is_none_or(|f| matches(f, &s.render(rt, ""), rt)))
                .collect();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            sort(&mut found, q, rt);
            let total = found.len();
            return Ok(ListPage { total, resources: found.into_iter().skip(skip).take(q.count).collect() });
        }
        if q.filter.is_none() && q.sort_by.is_none() {
            let total = self.count(t, res).await?;
            if q.count == 0 {
                return Ok(ListPage { total, resources: Vec::new() });
            }
            return Ok(ListPage { total, resources: self.scan(t, res, skip, q.count, None).await?.1 });
        }
        if q.sort_by.is_some() {
            let (_, mut all) = self.scan(t, res, 0, usize::MAX, q.filter.as_ref()).await?;
            sort(&mut all, q, rt);
            let total = all.len();
            return Ok(ListPage { total, resources: all.into_iter().skip(skip).take(q.count).collect() });
        }
        let (total, resources) = self.scan(t, res, skip, q.count, q.filter.as_ref()).await?;
        Ok(ListPage { total, resources })
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

    /// Walks the collection in id order and returns how many resources match `filter`
    /// and the matching ones after the first `skip`, at most `take`. Without a filter
    /// it stops as soon as the page is full (the total then comes from the counters).
    async fn scan(
        &self,
        t: &TenantId,
        res: Resource,
        skip: usize,
        take: usize,
        filter: Option<&Filter>,
    ) -> DomainResult<(usize, Vec<Stored>)> {
        let rt = res.rt();
        let mut q = Query::new(Index::Gsi1, keys::collection(t.as_str(), res.kind()), "", SCAN_PAGE);
        if filter.is_none() {
            // Unfiltered: the store skips to startIndex without reading the skipped items.
            q.skip = skip;
            q.limit = take.clamp(1, SCAN_PAGE);
            let page = self.table.query(&q).await?;
            return Ok((0, decode_all(page.items)?.into_iter().take(take).collect()));
        }
        let (mut matched, mut out) = (0usize, Vec::new());
        loop {
            let page = self.table.query(&q).await?;
            for s in decode_all(page.items)? {
                if filter.is_none_or(|f| matches(f, &s.render(rt, ""), rt)) {
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
fn sort(items: &mut [Stored], q: &ListQuery, rt: &ResourceType) {
    let Some(path) = &q.sort_by else { return };
    let mut keyed: Vec<(Option<SortValue>, usize)> =
        items.iter().enumerate().map(|(i, s)| (sort_value(s, rt, path), i)).collect();
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (Some(a), Some(b)) => {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if q.descending { o.reverse() } else { o }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let sorted: Vec<Stored> = order.iter().filter_map(|&i| items.get(i).cloned()).collect();
    for (slot, s) in items.iter_mut().zip(sorted) {
        *slot = s;
    }
}
