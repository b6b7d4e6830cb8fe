//! The events publisher end to end on moto's server (DynamoDB Streams, EventBridge, SQS): a
//! change and its activity entry committed in one transaction through `DynamoStore`, the
//! table's stream read as Lambda's event source mapping reads it, the publisher invoked with
//! that batch, and the events received from an SQS queue a rule on the bus targets.
//!
//! The publisher runs as the real `events-publisher` binary under the Lambda runtime
//! emulator when `INLET_LAMBDA_RIE` (the emulator) and `INLET_PUBLISHER_BIN` are set
//! (`infra/test.sh`), else in-process (the handler the binary runs). Runs where the test
//! command set `INLET_TEST_DYNAMODB_TABLE` (moto is up); skipped elsewhere.
#![cfg(feature = "eventbridge")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use inlet_shared::domain::activity::LogQuery;
use inlet_shared::domain::{Caller, Directory, Resource, TenantId};
use inlet_shared::events::eventbridge::{EventBridgeBus, Publisher};
use inlet_shared::store::dynamo::DynamoStore;
use inlet_shared::store::keys::{self, Kind};
use inlet_shared::store::{Condition, Item, Table, Write};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Nothing listens on port 1: the bus endpoint of the crashing invocation.
const UNREACHABLE: &str = "http://127.0.0.1:1";

struct Rig {
    sdk: aws_config::SdkConfig,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    bus: String,
    queue: String,
}

async fn rig() -> Option<Rig> {
    if std::env::var_os("INLET_TEST_DYNAMODB_TABLE").is_none() {
        eprintln!("skipped: INLET_TEST_DYNAMODB_TABLE is not set (infra/test.sh sets it)");
        return None;
    }
    let sdk = inlet_shared::aws::config().await;
    let name = format!("events-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let attr =
        |n: &str| AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build();
    let key = |n: &str, t| KeySchemaElement::builder().attribute_name(n).key_type(t).build();
    ddb.create_table()
        .table_name(&name)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(["pk", "sk", "gsi1pk", "gsi1sk"].map(|n| attr(n).unwrap()).to_vec()))
        .key_schema(key("pk", KeyType::Hash).unwrap())
        .key_schema(key("sk", KeyType::Range).unwrap())
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("gsi1")
                .key_schema(key("gsi1pk", KeyType::Hash).unwrap())
                .key_schema(key("gsi1sk", KeyType::Range).unwrap())
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The bus, and a rule sending every Inlet event on it to a queue (what a vendor would set up).
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    events.create_event_bus().name(&name).send().await.unwrap();
    let queue = sqs.create_queue().queue_name(&name).send().await.unwrap().queue_url.unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attrs.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let pattern = json!({"source": ["inlet"], "detail-type": [{"prefix": "inlet."}], "detail": {"tenant": ["acme"]}});
    events.put_rule().name("to-queue").event_bus_name(&name).event_pattern(pattern.to_string()).send().await.unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(queue_arn).build().unwrap();
    events.put_targets().rule("to-queue").event_bus_name(&name).targets(target).send().await.unwrap();
    Some(Rig { sdk, ddb, table: name.clone(), bus: name, queue })
}

/// An activity entry as the domain writes it, with its event JSON as the body.
fn entry(kind: &str, resource: (&str, &str), at_ms: i64) -> (Item, Value) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let event = json!({
        "id": id, "type": kind, "time": "2026-12-01T15:00:00.123Z", "tenant": "acme",
        "actor": {"kind": "scim", "tokenId": "tok1"}, "source": {"kind": "scim", "tokenId": "tok1"},
        "resource": {"type": resource.0, "id": resource.1, "version": 1}, "changed": [],
        "data": {"id": resource.1, "displayName": "Ünïcode ✓"},
    });
    let mut item = Item::new(keys::activity("acme", at_ms, &id), event.to_string().into_bytes());
    item.gsi1 = Some(keys::activity_of("acme", resource.1, at_ms, &id));
    (item, event)
}

fn put(item: Item, cond: Condition) -> Write {
    Write::Put { item, cond }
}

/// Commits a user and a group, each with its event, and a log-only entry; then a transaction
/// that fails its condition (its entry must never be published). Returns the committed events.
async fn commit(store: &DynamoStore) -> (Vec<Value>, Value) {
    let user = Item::new(keys::resource("acme", Kind::User, "u1"), br#"{"userName":"ada"}"#.to_vec());
    let group = Item::new(keys::resource("acme", Kind::Group, "g1"), br#"{"displayName":"eng"}"#.to_vec());
    let (created, user_event) = entry("inlet.user.created", ("User", "u1"), 1_764_601_200_001);
    let (group_created, group_event) = entry("inlet.group.created", ("Group", "g1"), 1_764_601_200_002);
    let (issued, _) = entry("inlet.token.issued", ("Token", "tok1"), 1_764_601_200_003);
    store.transact(vec![put(user.clone(), Condition::NotExists), put(created, Condition::NotExists)]).await.unwrap();
    store.transact(vec![put(group, Condition::NotExists), put(group_created, Condition::NotExists)]).await.unwrap();
    store.transact(vec![put(issued, Condition::NotExists)]).await.unwrap();
    // The entry first, so a store that applied writes before checking them all would leak it.
    let (rolled_back, rolled_back_event) = entry("inlet.user.created", ("User", "u1"), 1_764_601_200_004);
    let refused = store.transact(vec![put(rolled_back, Condition::NotExists), put(user, Condition::NotExists)]).await;
    assert!(refused.is_err(), "the second create of u1 must fail");
    (vec![user_event, group_event], rolled_back_event)
}

fn image(attrs: &HashMap<String, AttributeValue>) -> Value {
    let one = |v: &AttributeValue| match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        other => panic!("unexpected attribute {other:?}"),
    };
    Value::Object(attrs.iter().map(|(k, v)| (k.clone(), one(v))).collect())
}

/// The table's stream from its start, as the Lambda event its event source mapping would send
/// (unfiltered: the publisher must ignore what the mapping's filter would drop).
async fn stream_batch(rig: &Rig) -> Value {
    let arn =
        rig.ddb.describe_table().table_name(&rig.table).send().await.unwrap().table.unwrap().latest_stream_arn.unwrap();
    let streams = aws_sdk_dynamodbstreams::Client::new(&rig.sdk);
    let shards =
        streams.describe_stream().stream_arn(&arn).send().await.unwrap().stream_description.unwrap().shards.unwrap();
    let mut records = Vec::new();
    for shard in shards {
        let it = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let mut iterator = it.shard_iterator;
        while let Some(current) = iterator {
            let page = streams.get_records().shard_iterator(current).send().await.unwrap();
            let Some(got) = page.records.filter(|r| !r.is_empty()) else { break };
            for r in got {
                let change = r.dynamodb.unwrap();
                let mut dynamodb = json!({
                    "Keys": image(change.keys.as_ref().unwrap()),
                    "SequenceNumber": change.sequence_number.unwrap(),
                    "SizeBytes": change.size_bytes.unwrap_or(1),
                    "StreamViewType": "NEW_IMAGE",
                });
                if let Some(new) = change.new_image.as_ref() {
                    dynamodb["NewImage"] = image(new);
                }
                records.push(json!({
                    "eventID": r.event_id.unwrap(), "eventName": r.event_name.unwrap().as_str(),
                    "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                    "dynamodb": dynamodb, "eventSourceARN": arn,
                }));
            }
            iterator = page.next_shard_iterator;
        }
    }
    json!({ "Records": records })
}

/// Kills the emulator when the invocation is done (or the test fails).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One invocation of the publisher with `batch`, its bus endpoint `endpoint` (None: moto's).
async fn invoke(rig: &Rig, batch: &Value, endpoint: Option<&str>) -> Value {
    let (Ok(rie), Ok(bin)) = (std::env::var("INLET_LAMBDA_RIE"), std::env::var("INLET_PUBLISHER_BIN")) else {
        let mut config = aws_sdk_eventbridge::config::Builder::from(&rig.sdk);
        if let Some(url) = endpoint {
            config = config.endpoint_url(url);
        }
        let client = aws_sdk_eventbridge::Client::from_conf(config.build());
        let publisher = Publisher::new(EventBridgeBus::new(client, &rig.bus));
        let answer = publisher.publish(&serde_json::from_value(batch.clone()).unwrap()).await;
        return serde_json::to_value(answer).unwrap();
    };
    let (port, api) = (free_port(), free_port());
    let mut command = std::process::Command::new(rie);
    command
        .args(["--runtime-interface-emulator-address", &format!("127.0.0.1:{port}")])
        .args(["--runtime-api-address", &format!("127.0.0.1:{api}")])
        .arg(bin)
        .env("INLET_EVENT_BUS", &rig.bus)
        .env("AWS_LAMBDA_FUNCTION_NAME", "events-publisher")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(url) = endpoint {
        command.env("AWS_ENDPOINT_URL_EVENTBRIDGE", url);
    }
    let _running = Running(command.spawn().unwrap());
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the emulator did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/function/invocations");
    let mut curl = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", &url, "--data-binary", "@-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    curl.stdin.take().unwrap().write_all(batch.to_string().as_bytes()).unwrap();
    let out = curl.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The events on the queue, as (id, detail-type, detail), waiting up to `patience` for `want`.
async fn received(rig: &Rig, want: usize, patience: Duration) -> Vec<(String, String, Value)> {
    let sqs = aws_sdk_sqs::Client::new(&rig.sdk);
    let started = Instant::now();
    let mut got = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(&rig.queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in page.messages.into_iter().flatten() {
            let envelope: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            assert_eq!(envelope["source"], "inlet");
            let detail = envelope["detail"].clone();
            got.push((
                detail["id"].as_str().unwrap().to_owned(),
                envelope["detail-type"].as_str().unwrap().to_owned(),
                detail,
            ));
            sqs.delete_message().queue_url(&rig.queue).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
        }
        if got.len() > want
            || (got.len() == want && started.elapsed() > Duration::from_secs(1))
            || started.elapsed() > patience
        {
            return got;
        }
    }
}

#[tokio::test]
async fn committed_changes_arrive_on_eventbridge_once_the_publisher_has_read_the_stream() {
    let Some(rig) = rig().await else { return };
    let store = DynamoStore::new(rig.ddb.clone(), &rig.table);
    let (mut committed, rolled_back) = commit(&store).await;
    // And the entries the domain itself writes: a SCIM create and a deactivation.
    let dir = Directory::new(std::sync::Arc::new(DynamoStore::new(rig.ddb.clone(), &rig.table)));
    let t = TenantId::parse("acme").unwrap();
    let c = Caller::scim_test(&t);
    let grace = dir.create(&c, Resource::User, &json!({"userName": "grace@acme.example"})).await.unwrap();
    let off = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
    dir.patch(&c, Resource::User, &grace.id, &off, None).await.unwrap();
    let q = LogQuery { subject: Some(grace.id.clone()), limit: 10, ..LogQuery::default() };
    let mut written = dir.activity(&t, &q).await.unwrap().entries;
    written.reverse();
    let kinds: Vec<&str> = written.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["inlet.user.created", "inlet.user.deactivated"]);
    committed.extend(written);
    let batch = stream_batch(&rig).await;
    let records = batch["Records"].as_array().unwrap();
    let has = |event: &Value| records.iter().any(|r| r.to_string().contains(event["id"].as_str().unwrap()));
    assert!(committed.iter().all(has) && !has(&rolled_back), "the stream holds the committed entries only");

    // A crash between reading and publishing: the bus is unreachable, so the answer names the
    // first record carrying an event (the user item's record before it is done) and no event is out.
    let first_entry = records.iter().find(|r| r.to_string().contains(committed[0]["id"].as_str().unwrap())).unwrap();
    let first_seq = first_entry["dynamodb"]["SequenceNumber"].clone();
    let answer = invoke(&rig, &batch, Some(UNREACHABLE)).await;
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": first_seq}]}));
    assert!(received(&rig, 0, Duration::from_secs(1)).await.is_empty());

    // Lambda retries with the same records: the events arrive, with the ids of their entries.
    let answer = invoke(&rig, &batch, None).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let got = received(&rig, committed.len(), Duration::from_secs(10)).await;
    let want: Vec<(String, String, Value)> = committed
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e["type"].as_str().unwrap().to_owned(), e.clone()))
        .collect();
    assert_eq!(got, want, "exactly the committed events, in commit order, detail = the entry's body");
}
