//! The DynamoDB Streams event that Lambda's event source mapping hands the publisher, and
//! the partial-batch answer it expects back. Only what the publisher reads is modelled:
//! `Records[].eventName`, `dynamodb.Keys`, `dynamodb.NewImage`, `dynamodb.SequenceNumber`
//! (and `eventSourceARN` for the logs); attribute values are DynamoDB JSON (`{"S": "…"}`).

use super::{EventError, Outgoing};
use crate::store::{Item, Key, keys};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Attribute name → DynamoDB JSON value (`{"S": "…"}`, `{"N": "…"}`, …).
type Image = HashMap<String, serde_json::Value>;

#[derive(Debug, Clone, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE` (TTL expiry included).
    #[serde(rename = "eventName")]
    pub event_name: String,
    #[serde(rename = "eventSourceARN", default)]
    pub event_source_arn: Option<String>,
    pub dynamodb: StreamChange,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamChange {
    pub keys: Image,
    #[serde(default)]
    pub new_image: Option<Image>,
    pub sequence_number: String,
}

/// A string attribute of an image, if it is one.
fn string<'a>(image: &'a Image, name: &str) -> Option<&'a str> {
    image.get(name)?.get("S")?.as_str()
}

impl StreamRecord {
    pub fn sequence_number(&self) -> &str {
        &self.dynamodb.sequence_number
    }

    /// The event this record publishes: `None` for anything but the insertion of an activity
    /// entry that carries an event (a modified or removed item — TTL expiry is a REMOVE — a
    /// user, a log-only entry). An activity entry that cannot be read is an error, never a skip.
    pub fn event(&self) -> Result<Option<Outgoing>, EventError> {
        if self.event_name != "INSERT" {
            return Ok(None);
        }
        let keys = &self.dynamodb.keys;
        let bad = |reason: &str| EventError::Undecodable {
            key: format!(
                "{}/{} (sequence number {})",
                string(keys, "pk").unwrap_or("?"),
                string(keys, "sk").unwrap_or("?"),
                self.dynamodb.sequence_number
            ),
            reason: reason.to_owned(),
        };
        let pk = string(keys, "pk").ok_or_else(|| bad("no string pk"))?;
        if !keys::is_activity(pk) {
            return Ok(None);
        }
        let sk = string(keys, "sk").ok_or_else(|| bad("no string sk"))?;
        // The stream must carry new images (StreamViewType NEW_IMAGE): without one the event
        // is lost to this publisher, so it fails rather than skipping.
        let image = self.dynamodb.new_image.as_ref().ok_or_else(|| bad("no NewImage on the stream record"))?;
        let body = string(image, "body").ok_or_else(|| bad("no string body"))?;
        Outgoing::from_item(&Item::new(Key::new(pk, sk), body.as_bytes().to_vec()))
    }
}

/// The publisher's answer with `FunctionResponseTypes: [ReportBatchItemFailures]`: empty when
/// the whole batch is done; else the first record not done, from which Lambda retries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failed_from(sequence_number: &str) -> Self {
        Self { batch_item_failures: vec![ItemFailure { item_identifier: sequence_number.to_owned() }] }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A stream record as Lambda delivers it (NEW_IMAGE view).
    pub(crate) fn record(event_name: &str, pk: &str, sk: &str, body: Option<&str>, seq: &str) -> serde_json::Value {
        let keys = json!({"pk": {"S": pk}, "sk": {"S": sk}});
        let mut change = json!({"Keys": keys, "SequenceNumber": seq, "SizeBytes": 100, "StreamViewType": "NEW_IMAGE"});
        if let Some(body) = body {
            let image = json!({"pk": {"S": pk}, "sk": {"S": sk}, "v": {"N": "0"}, "body": {"S": body}});
            change["NewImage"] = image;
        }
        json!({"eventID": seq, "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
               "awsRegion": "us-east-1", "dynamodb": change,
               "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/inlet/stream/2026-12-01T00:00:00.000"})
    }

    pub(crate) fn entry_body(id: &str, kind: &str) -> String {
        json!({"id": id, "type": kind, "tenant": "acme", "resource": {"type": "User", "id": "u1", "version": 1}})
            .to_string()
    }

    fn parse(v: serde_json::Value) -> StreamRecord {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn an_inserted_activity_entry_is_its_event() {
        let body = entry_body("e1", "inlet.user.created");
        let r = parse(record("INSERT", "L#acme#3", "1764601200123#e1", Some(&body), "100"));
        let e = r.event().unwrap().unwrap();
        assert_eq!((e.id.as_str(), e.kind.as_str(), e.tenant.as_str()), ("e1", "inlet.user.created", "acme"));
        assert_eq!(e.body, body.as_bytes());
        assert_eq!(r.sequence_number(), "100");
    }

    #[test]
    fn other_records_are_ignored_and_broken_entries_are_errors() {
        let body = entry_body("e1", "inlet.user.created");
        let removed = parse(record("REMOVE", "L#acme#3", "1764601200123#e1", None, "1"));
        assert!(removed.event().unwrap().is_none());
        let modified = parse(record("MODIFY", "L#acme#3", "1764601200123#e1", Some(&body), "2"));
        assert!(modified.event().unwrap().is_none());
        let user = parse(record("INSERT", "T#acme#U#u1", "USER", Some("{}"), "3"));
        assert!(user.event().unwrap().is_none());
        let log_only = entry_body("e2", "inlet.token.issued");
        assert!(
            parse(record("INSERT", "L#acme#1", "1764601200123#e2", Some(&log_only), "4")).event().unwrap().is_none()
        );
        assert!(parse(record("INSERT", "L#acme#1", "1764601200123#e3", Some("{"), "5")).event().is_err());
        let no_image = parse(record("INSERT", "L#acme#1", "1764601200123#e3", None, "6")).event().unwrap_err();
        assert!(no_image.to_string().contains("L#acme#1/1764601200123#e3 (sequence number 6)"), "{no_image}");
    }

    #[test]
    fn the_answer_is_what_lambda_reads() {
        let v = serde_json::to_value(BatchResponse::failed_from("42")).unwrap();
        assert_eq!(v, json!({"batchItemFailures": [{"itemIdentifier": "42"}]}));
        assert_eq!(serde_json::to_value(BatchResponse::default()).unwrap(), json!({"batchItemFailures": []}));
    }
}
