//! The storage contract against a real DynamoDB API: moto's server on loopback, started by
//! the test command (`infra/test.sh`), which sets `INLET_TEST_DYNAMODB_TABLE` to a table it
//! created from template.yaml and `AWS_ENDPOINT_URL` to the server.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_shared::store::docs::TableDocs;
use inlet_shared::store::dynamo::DynamoStore;
use inlet_shared::store::secrets::SecretsDocs;
use inlet_shared::store::{contract, docs_contract};
use std::sync::Arc;

/// The table the test command created, or `None` outside it (where there may be no AWS
/// API on loopback; inside it, a missing table is an error).
fn table() -> Option<String> {
    let table = std::env::var("INLET_TEST_DYNAMODB_TABLE").ok();
    if table.is_none() {
        assert!(std::env::var_os("INLET_REQUIRE_DYNAMODB").is_none(), "INLET_TEST_DYNAMODB_TABLE is not set");
        eprintln!("skipped: INLET_TEST_DYNAMODB_TABLE is not set (infra/test.sh sets it)");
    }
    table
}

async fn store(table: String) -> DynamoStore {
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&inlet_shared::aws::config().await), table)
}

#[tokio::test]
async fn dynamodb_passes_the_storage_contract() {
    let Some(table) = table() else { return };
    contract::run_all(&store(table).await).await;
}

#[tokio::test]
async fn dynamodb_documents_pass_the_document_contract() {
    let Some(table) = table() else { return };
    let docs = TableDocs::new(Arc::new(store(table).await), "contract");
    docs_contract::run_all(&docs).await;
    docs_contract::run_listing(&docs).await;
}

#[tokio::test]
async fn secrets_manager_passes_the_document_contract() {
    // Secrets Manager is served by the same moto server as DynamoDB.
    if table().is_none() {
        return;
    }
    let vault = SecretsDocs::new(
        aws_sdk_secretsmanager::Client::new(&inlet_shared::aws::config().await),
        format!("inlet/contract-{}/", uuid::Uuid::new_v4().simple()),
    );
    docs_contract::run_all(&vault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_keep_the_invariants_on_dynamodb() {
    use inlet_shared::domain::{Directory, races};
    let Some(table) = table() else { return };
    let directory = Directory::new(Arc::new(store(table).await));
    // Lean on purpose: moto copies every table for each transaction, so its cost grows with
    // everything stored; the rounds on redb (unit tests) are the long run.
    let report = races::run(&directory, 2).await;
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert!(report.unexpected.is_empty(), "{:#?}", report.unexpected);
    assert_eq!(report.busy_commuting, 0);
    // 30 members a PATCH: each commits in one transaction, so concurrent ones commute without
    // queueing (the multi-transaction path queues behind the group's lock; moto's slow
    // transactions make that a test of its speed, so it runs on redb: 20 PATCHes of 50).
    assert_eq!(races::distinct_additions(&directory, 4, 30).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn declared_attributes_keep_the_invariants_on_dynamodb() {
    use inlet_shared::domain::{Directory, declared_checks};
    let Some(table) = table() else { return };
    let directory = Directory::new(Arc::new(store(table).await));
    assert_eq!(declared_checks::run(&directory).await, Vec::<String>::new());
}
