//! Listing and filtering. Equality on `id`, userName / group displayName and
//! `externalId` is answered from an index; other filters scan the tenant's
//! collection (GSI1) and evaluate the filter on each resource.

use super::actor::{Caller, Owner};
use super::directory::{Directory, Resource};
use super::error::DomainError;
use super::error::DomainResult;
use super::indexes::{key_of, marker_target, value_lookup};
use super::members::{get_all, query_all};
use super::records::{Stored, valid_id};
use super::tenant::TenantId;
use crate::scim::error::ScimError;
use crate::scim::filter::{Filter, Literal, matches, values_at};
use crate::scim::list::ListQuery;
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, ResourceType};
use crate::store::keys::{self, COUNTER_SHARDS};
use crate::store::{Index, Item, Query};
use serde_json::Value;
use std::cmp::Ordering;

/// Items read per page while scanning a collection.
const SCAN_PAGE: usize = 1000;
/// Most resources one request may examine to answer a filter no index serves, or a `sortBy`
/// (which holds the matches in memory to sort them): past it, 400 tooMany.
pub const MAX_EXAMINED: usize = 10_000;
/// Most resources an unfiltered page may pass over to reach its `startIndex` (the embedded
/// store walks keys only; DynamoDB reads the skipped items, about 1 MB per 700 users).
pub const MAX_SKIP: usize = 100_000;

fn too_many(what: &str, limit: usize) -> DomainError {
    DomainError::Scim(ScimError::too_many(format!(
        "{what} more than {limit} resources; filter on id, externalId or userName / displayName with 'eq' \
         (answered from an index), or page with a smaller startIndex"
    )))
}

pub struct ListPage {
    pub total: usize,
    pub resources: Vec<Stored>,
}

impl Directory {
    /// A page of what `c` sees: the collections of the owners visible to it, one after the
    /// other (each in its collection's order).
    pub async fn list(&self, c: &Caller, res: Resource, q: &ListQuery) -> DomainResult<ListPage> {
        let (rt, t, owners) = (c.rt(res), &c.tenant, c.visible());
        let skip = q.start_index - 1;
        let indexed = match &q.filter {
            Some(f) => self.indexed_candidates(c, res, f).await?,
            None => None,
        };
        let all = match indexed {
            Some(candidates) => {
                let mut found: Vec<Stored> = candidates
                    .into_iter()
                    .filter(|s| c.sees(&s.source) && q.filter.as_ref().is_none_or(|f| keep(f, s, rt)))
                    .collect();
                found.sort_by(|a, b| a.id.cmp(&b.id));
                found
            }
            None if q.filter.is_none() && q.sort_by.is_none() => {
                let counts = self.counts(t, res, &owners).await?;
                let total = counts.iter().sum();
                if skip > MAX_SKIP && skip < total {
                    return Err(too_many("this startIndex passes over", MAX_SKIP));
                }
                let mut resources = Vec::new();
                let (mut skip, mut want) = (skip, q.count);
                for (owner, n) in owners.iter().zip(counts) {
                    if want == 0 {
                        break;
                    }
                    if skip >= n {
                        skip -= n;
                        continue;
                    }
                    let got = self.page(t, res, *owner, skip, want).await?;
                    want -= got.len().min(want);
                    resources.extend(got);
                    skip = 0;
                }
                return Ok(ListPage { total, resources });
            }
            // Without sortBy the walk keeps only the page, however many match.
            None if q.sort_by.is_none() => {
                let (total, resources) = self.scan(c, res, &owners, q.filter.as_ref(), skip, q.count).await?;
                return Ok(ListPage { total, resources });
            }
            None => self.scan(c, res, &owners, q.filter.as_ref(), 0, usize::MAX).await?.1,
        };
        let all = sort(all, q, rt);
        Ok(ListPage { total: all.len(), resources: all.into_iter().skip(skip).take(q.count).collect() })
    }

    /// Resources that can be found by index for this filter, if any index applies: an
    /// indexed equality every match satisfies, or an `or` of filters that each have one
    /// (`userName eq "x" or aliases.value eq "x"`: two lookups).
    fn indexed_candidates<'a>(
        &'a self,
        c: &'a Caller,
        res: Resource,
        filter: &'a Filter,
    ) -> futures::future::BoxFuture<'a, DomainResult<Option<Vec<Stored>>>> {
        Box::pin(async move {
            if let Filter::Or(a, b) = filter {
                let (Some(mut a), Some(b)) =
                    (self.indexed_candidates(c, res, a).await?, self.indexed_candidates(c, res, b).await?)
                else {
                    return Ok(None);
                };
                let seen: std::collections::HashSet<String> = a.iter().map(|x| x.id.clone()).collect();
                a.extend(b.into_iter().filter(|s| !seen.contains(&s.id)));
                if a.len() > MAX_EXAMINED {
                    return Err(too_many("these lookups find", MAX_EXAMINED));
                }
                return Ok(Some(a));
            }
            for (path, lit) in filter.required_eq_literals() {
                // Integers compare as their decimal text, as unique integer values are indexed.
                let value = match lit {
                    Literal::Str(s) => s.clone(),
                    Literal::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => format!("{}", *n as i64),
                    _ => continue,
                };
                let text = matches!(lit, Literal::Str(_));
                if let Some(ids) = self.lookup(c, res, path, &value, text).await? {
                    let keys: Vec<_> =
                        ids.iter().filter(|id| valid_id(id)).map(|id| key_of(&c.tenant, res, id)).collect();
                    let items = match keys.as_slice() {
                        [one] => self.table.get(one).await?.into_iter().collect(),
                        _ => get_all(self.table.as_ref(), &keys).await?,
                    };
                    return Ok(Some(decode_all(items)?));
                }
            }
            Ok(None)
        })
    }

    /// The ids an index gives for `path eq value`, if one applies; `text`: the literal was a
    /// string (only those can match the built-in indexes).
    async fn lookup(
        &self,
        c: &Caller,
        res: Resource,
        path: &AttrPath,
        value: &str,
        text: bool,
    ) -> DomainResult<Option<Vec<String>>> {
        let (t, rt) = (&c.tenant, c.rt(res));
        if let Some(id) = value_lookup(rt, path, value, text) {
            let marker = self.table.get(&keys::value_marker(t.as_str(), res.kind(), &id)).await?;
            return Ok(Some(marker.as_ref().and_then(marker_target).into_iter().collect()));
        }
        if !text || !is_core(path, rt) {
            return Ok(None);
        }
        let Some(attr) = path.locate(rt) else { return Ok(None) };
        if attr.top.since.is_some() {
            return Ok(None);
        }
        let ids: Vec<String> = match attr.top.name.as_str() {
            "id" => vec![value.to_owned()],
            "externalId" => {
                let partition = keys::external_id_partition(t.as_str(), res.kind(), value);
                let entries = query_all(self.table.as_ref(), partition, "").await?;
                if entries.len() > MAX_EXAMINED {
                    return Err(too_many("this externalId is shared by", MAX_EXAMINED));
                }
                entries.into_iter().map(|i| i.key.sk).collect()
            }
            _ if attr.top.required => match self.table.get(&keys::name_marker(t.as_str(), res.kind(), value)).await? {
                Some(marker) => marker_target(&marker).into_iter().collect(),
                None => Vec::new(),
            },
            _ => return Ok(None),
        };
        Ok(Some(ids))
    }

    /// Every resource of this kind `c` sees, for callers that reconcile a whole tenant (the
    /// Okta puller): pages of the collections followed by cursor, no bound.
    pub async fn all(&self, c: &Caller, res: Resource) -> DomainResult<Vec<Stored>> {
        let mut out = Vec::new();
        for owner in c.visible() {
            let collection = keys::collection(c.tenant.as_str(), res.kind(), owner.name());
            let mut q = Query::new(Index::Gsi1, collection, "", SCAN_PAGE);
            loop {
                let page = self.table.query(&q).await?;
                out.extend(decode_all(page.items)?);
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// How many resources of this kind each owner has, from the sharded counters (one batch).
    pub async fn counts(&self, t: &TenantId, res: Resource, owners: &[Owner]) -> DomainResult<Vec<usize>> {
        let shard = |o: &Owner, s| keys::counter_shard(t.as_str(), res.kind(), o.name(), s);
        let keys: Vec<_> = owners.iter().flat_map(|o| (0..COUNTER_SHARDS).map(move |s| shard(o, s))).collect();
        let mut by_key = std::collections::HashMap::new();
        for chunk in keys.chunks(100) {
            by_key.extend(self.table.get_many(chunk).await?.into_iter().map(|i| (i.key, i.count)));
        }
        owners
            .iter()
            .map(|o| {
                let n: i64 = (0..COUNTER_SHARDS).filter_map(|s| by_key.get(&shard(o, s))).sum();
                usize::try_from(n).map_err(|_| super::members::undecodable("resource counter", n))
            })
            .collect()
    }

    /// How many resources of this kind the tenant has, whoever owns them.
    pub async fn count(&self, t: &TenantId, res: Resource) -> DomainResult<usize> {
        Ok(self.counts(t, res, &Owner::ALL).await?.iter().sum())
    }

    /// One unfiltered page of one owner's collection in its order: the store skips to `skip`
    /// without reading the skipped items.
    async fn page(
        &self,
        t: &TenantId,
        res: Resource,
        owner: Owner,
        skip: usize,
        take: usize,
    ) -> DomainResult<Vec<Stored>> {
        let collection = keys::collection(t.as_str(), res.kind(), owner.name());
        let q = Query { skip, ..Query::new(Index::Gsi1, collection, "", take.clamp(1, SCAN_PAGE)) };
        Ok(decode_all(self.table.query(&q).await?.items)?.into_iter().take(take).collect())
    }

    /// Walks the whole collection in its order: how many resources match `filter`, and
    /// the matching ones after the first `skip`, at most `take`.
    async fn scan(
        &self,
        c: &Caller,
        res: Resource,
        owners: &[Owner],
        filter: Option<&Filter>,
        skip: usize,
        take: usize,
    ) -> DomainResult<(usize, Vec<Stored>)> {
        let (t, rt) = (&c.tenant, c.rt(res));
        let (mut matched, mut out, mut examined) = (0usize, Vec::new(), 0usize);
        let mut collections = owners.iter().map(|o| keys::collection(t.as_str(), res.kind(), o.name()));
        let Some(first) = collections.next() else { return Ok((0, out)) };
        let mut q = Query::new(Index::Gsi1, first, "", SCAN_PAGE);
        loop {
            let page = self.table.query(&q).await?;
            examined += page.items.len();
            if examined >= MAX_EXAMINED && page.next.is_some() {
                return Err(too_many("this filter or sortBy would examine", MAX_EXAMINED));
            }
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
                None => match collections.next() {
                    Some(next) => q = Query::new(Index::Gsi1, next, "", SCAN_PAGE),
                    None => return Ok((matched, out)),
                },
            }
        }
    }
}

fn keep(filter: &Filter, s: &Stored, rt: &ResourceType) -> bool {
    matches(filter, &s.render(rt, ""), rt)
}

fn is_core(path: &AttrPath, rt: &ResourceType) -> bool {
    path.sub.is_none() && path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(&rt.core.id))
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

/// Stable sort by `sortBy`, ties keeping the collection's order.
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
    use crate::domain::DomainResult;
    use crate::scim::list::{ListParams, ListQuery};
    use crate::scim::schema::USER_TYPE;
    use crate::store::embedded::EmbeddedStore;
    use futures::future::join_all;
    use std::sync::Arc;

    #[tokio::test]
    async fn sort_by_covers_every_user_beyond_one_scan_page() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        let t = TenantId::parse("t").unwrap();
        let c = Caller::scim_test(&t);
        let n = SCAN_PAGE + 5;
        // Concurrent creates share group commits, so this stays fast.
        let created = join_all((0..n).map(|i| {
            let body = serde_json::json!({"userName": format!("u{i:05}")});
            let (directory, c) = (directory.clone(), c.clone());
            async move { directory.create(&c, Resource::User, &body).await }
        }))
        .await;
        assert!(created.iter().all(Result::is_ok));
        let params = ListParams {
            sort_by: Some("userName"),
            sort_order: Some("descending"),
            count: Some("2"),
            ..Default::default()
        };
        let q = ListQuery::parse(&params, &USER_TYPE).unwrap();
        let page = directory.list(&c, Resource::User, &q).await.unwrap();
        assert_eq!(page.total, n);
        let names: Vec<&str> = page.resources.iter().map(|s| s.unique_name("userName")).collect();
        assert_eq!(names, vec![format!("u{:05}", n - 1), format!("u{:05}", n - 2)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_per_request_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        let t = TenantId::parse("t").unwrap();
        let c = Caller::scim_test(&t);
        for batch in (0..MAX_EXAMINED + 10).collect::<Vec<_>>().chunks(1000) {
            let created = join_all(batch.iter().map(|i| {
                let body = serde_json::json!({"userName": format!("u{i:05}"), "externalId": "shared"});
                let (directory, c) = (directory.clone(), c.clone());
                async move { directory.create(&c, Resource::User, &body).await }
            }))
            .await;
            assert!(created.iter().all(Result::is_ok));
        }
        let rt: &ResourceType = &USER_TYPE;
        let query = |params: ListParams<'_>| ListQuery::parse(&params, rt).unwrap();
        let too_many = |r: DomainResult<ListPage>| match r {
            Err(DomainError::Scim(e)) => e.scim_type == Some(crate::scim::error::ScimType::TooMany),
            _ => false,
        };
        let scan = query(ListParams { filter: Some("title eq \"x\""), ..Default::default() });
        assert!(too_many(directory.list(&c, Resource::User, &scan).await));
        let sorted = query(ListParams { sort_by: Some("userName"), ..Default::default() });
        assert!(too_many(directory.list(&c, Resource::User, &sorted).await));
        // externalId equality lists every match past one index page, up to the bound.
        let shared = query(ListParams { filter: Some("externalId eq \"shared\""), ..Default::default() });
        assert!(too_many(directory.list(&c, Resource::User, &shared).await));
        // Indexed filters and plain pages are not bounded by the tenant's size.
        let one = query(ListParams { filter: Some("userName eq \"u09999\""), ..Default::default() });
        assert_eq!(directory.list(&c, Resource::User, &one).await.unwrap().total, 1);
        let deep = query(ListParams { start_index: Some("10005"), ..Default::default() });
        let page = directory.list(&c, Resource::User, &deep).await.unwrap();
        assert_eq!((page.total, page.resources.len()), (MAX_EXAMINED + 10, 6));
        // A record past the size bound is refused, and nothing is stored.
        let id = page.resources[0].id.clone();
        let big = serde_json::json!({"Operations": [{"op": "replace", "path": "title", "value": "x".repeat(120_000)}]});
        let refused = directory.patch(&c, Resource::User, &id, &big, None).await;
        assert!(matches!(refused, Err(DomainError::TooLarge(_))), "{refused:?}");
        assert!(directory.get(&t, Resource::User, &id).await.unwrap().attrs.get("title").is_none());
    }
}
