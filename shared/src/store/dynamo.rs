//! The DynamoDB backend of the storage contract: one table, attributes `pk`, `sk`,
//! `gsi1pk`, `gsi1sk` (index `gsi1`), `v` (version), `n` (counter), `body` (the
//! document: a string when it is UTF-8, which Inlet's always are, so the vendor's code
//! can read it) and `ttl` (when the item expires, Unix seconds: the table's TTL attribute). Expressions are fixed strings with placeholders; no client text is
//! ever part of one.

use super::{Condition, Cursor, Index, Item, Key, Page, Query, StoreError, Table, Write, validate_transaction};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use std::collections::HashMap;
use std::time::Duration;

/// Name of the global secondary index on (`gsi1pk`, `gsi1sk`).
pub const GSI1: &str = "gsi1";
/// Attempts for a transaction that lost to a concurrent one (TransactionConflict).
const CONFLICT_ATTEMPTS: u32 = 5;

type Attrs = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn key_attrs(k: &Key) -> Attrs {
    HashMap::from([("pk".to_owned(), s(&k.pk)), ("sk".to_owned(), s(&k.sk))])
}

fn to_attrs(item: &Item) -> Attrs {
    let mut a = key_attrs(&item.key);
    if let Some(g) = &item.gsi1 {
        a.insert("gsi1pk".into(), s(&g.pk));
        a.insert("gsi1sk".into(), s(&g.sk));
    }
    a.insert("v".into(), AttributeValue::N(item.version.to_string()));
    a.insert("n".into(), AttributeValue::N(item.count.to_string()));
    let body = match std::str::from_utf8(&item.body) {
        Ok(text) => s(text),
        Err(_) => AttributeValue::B(Blob::new(item.body.clone())),
    };
    a.insert("body".into(), body);
    if let Some(at) = item.expires {
        a.insert("ttl".into(), AttributeValue::N(at.to_string()));
    }
    a
}

fn text<'a>(a: &'a Attrs, name: &str) -> Option<&'a str> {
    a.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn number<T: std::str::FromStr + Default>(a: &Attrs, name: &str) -> T {
    a.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or_default()
}

fn from_attrs(a: &Attrs) -> Result<Item, StoreError> {
    let key = Key::new(text(a, "pk").ok_or_else(|| backend("item without pk"))?, text(a, "sk").unwrap_or_default());
    let gsi1 = text(a, "gsi1pk").map(|pk| Key::new(pk, text(a, "gsi1sk").unwrap_or_default()));
    let body = match a.get("body") {
        Some(AttributeValue::S(t)) => t.clone().into_bytes(),
        Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
        _ => Vec::new(),
    };
    // A `ttl` Inlet did not write as a number would be a broken item, not "no expiry".
    let expires = match a.get("ttl") {
        None => None,
        Some(v) => Some(
            v.as_n()
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| backend(format!("item {}/{}: ttl is not a whole number", key.pk, key.sk)))?,
        ),
    };
    Ok(Item { key, gsi1, version: number(a, "v"), count: number(a, "n"), body, expires })
}

/// The condition as an expression and the values it names; `(None, None)` for no condition.
fn condition(c: Condition) -> (Option<String>, Option<Attrs>) {
    let (expr, value) = match c {
        Condition::None => return (None, None),
        Condition::NotExists => ("attribute_not_exists(pk)", None),
        Condition::Exists => ("attribute_exists(pk)", None),
        Condition::Version(v) => ("v = :v", Some(AttributeValue::N(v.to_string()))),
    };
    (Some(expr.to_owned()), value.map(|v| HashMap::from([(":v".to_owned(), v)])))
}

fn transact_item(table: &str, w: &Write) -> Result<TransactWriteItem, StoreError> {
    let b = TransactWriteItem::builder();
    let built = match w {
        Write::Put { item, cond } => {
            let (expr, values) = condition(*cond);
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(to_attrs(item)))
                .set_condition_expression(expr)
                .set_expression_attribute_values(values)
                .build()
                .map_err(backend)?;
            b.put(put)
        }
        Write::Delete { key, cond } => {
            let (expr, values) = condition(*cond);
            let delete = Delete::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(expr)
                .set_expression_attribute_values(values)
                .build()
                .map_err(backend)?;
            b.delete(delete)
        }
        Write::Check { key, cond } => {
            // A check needs a condition; `None` is one that always holds.
            let (expr, values) = condition(*cond);
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .condition_expression(expr.unwrap_or_else(|| "attribute_exists(pk) OR attribute_not_exists(pk)".into()))
                .set_expression_attribute_values(values)
                .build()
                .map_err(backend)?;
            b.condition_check(check)
        }
        Write::Add { key, delta } => {
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .update_expression("ADD n :d")
                .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
                .build()
                .map_err(backend)?;
            b.update(update)
        }
        Write::Touch { key, cond } => {
            // Existence is always part of the condition: an update would otherwise create the item.
            let mut values = HashMap::from([(":one".to_owned(), AttributeValue::N("1".into()))]);
            let expr = match cond {
                Condition::Version(v) => {
                    values.insert(":v".into(), AttributeValue::N(v.to_string()));
                    "attribute_exists(pk) AND v = :v"
                }
                _ => "attribute_exists(pk)",
            };
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .update_expression("SET v = v + :one")
                .condition_expression(expr)
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(backend)?;
            b.update(update)
        }
    };
    Ok(built.build())
}

impl DynamoStore {
    /// A store on `table` with a client built by the caller (`startup` builds it once).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn query_request(
        &self,
        q: &Query,
        start: Option<Attrs>,
        limit: usize,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk, sk) = match q.index {
            Index::Table => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let mut names = HashMap::from([("#p".to_owned(), pk.to_owned())]);
        let mut values = HashMap::from([(":p".to_owned(), s(&q.pk))]);
        let mut expr = "#p = :p".to_owned();
        if let Some((lo, hi)) = &q.between {
            names.insert("#s".into(), sk.into());
            values.insert(":lo".into(), s(lo));
            values.insert(":hi".into(), s(hi));
            expr.push_str(" AND #s BETWEEN :lo AND :hi");
        } else if !q.sk_prefix.is_empty() {
            names.insert("#s".into(), sk.into());
            values.insert(":s".into(), s(&q.sk_prefix));
            expr.push_str(" AND begins_with(#s, :s)");
        }
        let req = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(expr)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .set_exclusive_start_key(start)
            .scan_index_forward(!q.reverse)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        match q.index {
            // Strongly consistent on the table; GSIs are always eventually consistent.
            Index::Table => req.consistent_read(true),
            Index::Gsi1 => req.index_name(GSI1),
        }
    }
}

fn encode_cursor(key: &Attrs) -> Cursor {
    let plain: HashMap<&str, &str> =
        key.iter().filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str()))).collect();
    Cursor(serde_json::to_string(&plain).unwrap_or_default())
}

fn decode_cursor(c: Option<&Cursor>) -> Result<Option<Attrs>, StoreError> {
    let Some(Cursor(text)) = c else { return Ok(None) };
    let plain: HashMap<String, String> =
        serde_json::from_str(text).map_err(|_| StoreError::Invalid("cursor is not from this backend".into()))?;
    Ok(Some(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect()))
}

fn is_retryable(code: Option<&str>) -> bool {
    matches!(code, Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"))
}

#[async_trait]
impl Table for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.item().map(from_attrs).transpose()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let mut pending: Vec<Attrs> = keys.iter().map(key_attrs).collect();
        let mut out = Vec::with_capacity(keys.len());
        let mut delay = Duration::from_millis(20);
        while !pending.is_empty() {
            let request =
                KeysAndAttributes::builder().set_keys(Some(pending)).consistent_read(true).build().map_err(backend)?;
            let resp =
                self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(backend)?;
            for a in resp.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                out.push(from_attrs(a)?);
            }
            // Throttled keys come back unprocessed: ask again after a pause.
            pending =
                resp.unprocessed_keys().and_then(|u| u.get(&self.table)).map(|k| k.keys().to_vec()).unwrap_or_default();
            if !pending.is_empty() {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
        Ok(out)
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        super::validate_query(q)?;
        // A projection does not lower the read units a Query consumes, so the items to skip
        // are read in full in the same request as the page: `startIndex` costs no extra
        // request until skip + limit items pass DynamoDB's 1 MB per response.
        let (want, mut to_skip) = (q.limit.max(1), q.skip);
        let mut start = decode_cursor(q.after.as_ref())?;
        let mut items = Vec::with_capacity(want);
        loop {
            let limit = to_skip + want - items.len();
            let out = self.query_request(q, start, limit).send().await.map_err(backend)?;
            let skipped = to_skip.min(out.items().len());
            to_skip -= skipped;
            for a in out.items().iter().skip(skipped) {
                items.push(from_attrs(a)?);
            }
            match out.last_evaluated_key() {
                // Stopped at 1 MB before the page was full: go on from there.
                Some(k) if items.len() < want => start = Some(k.clone()),
                next => return Ok(Page { items, next: next.map(encode_cursor) }),
            }
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let items = writes.iter().map(|w| transact_item(&self.table, w)).collect::<Result<Vec<_>, _>>()?;
        // One token for every attempt: DynamoDB treats a retried transaction as the same one
        // for 10 minutes, so a retry after a lost answer never applies it twice.
        let token = uuid::Uuid::new_v4().to_string();
        let mut delay = Duration::from_millis(25);
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let SdkError::ServiceError(service) = &err
                && let TransactWriteItemsError::TransactionCanceledException(cancel) = service.err()
            {
                let reasons = cancel.cancellation_reasons();
                if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                    return Err(StoreError::ConditionFailed { index });
                }
                if attempt < CONFLICT_ATTEMPTS && reasons.iter().any(|r| is_retryable(r.code())) {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    continue;
                }
            }
            return Err(backend(aws_sdk_dynamodb::error::DisplayErrorContext(&err)));
        }
        Err(StoreError::Backend("transaction kept conflicting".into()))
    }
}
