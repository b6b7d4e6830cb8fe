//! The storage contract against a real DynamoDB API: moto's server on loopback, started by
//! the test command (`infra/test.sh`), which sets `INLET_TEST_DYNAMODB_TABLE` to a table it
//! created from template.yaml and `AWS_ENDPOINT_URL` to the server.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_shared::store::contract;
use inlet_shared::store::dynamo::DynamoStore;

#[tokio::test]
async fn dynamodb_passes_the_storage_contract() {
    let Ok(table) = std::env::var("INLET_TEST_DYNAMODB_TABLE") else {
        // Outside the test command there may be no DynamoDB; inside it this is an error.
        assert!(std::env::var_os("INLET_REQUIRE_DYNAMODB").is_none(), "INLET_TEST_DYNAMODB_TABLE is not set");
        eprintln!("skipped: INLET_TEST_DYNAMODB_TABLE is not set (infra/test.sh sets it)");
        return;
    };
    let store = DynamoStore::from_env(table).await;
    contract::run_all(&store).await;
}
