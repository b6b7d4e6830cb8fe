//! The Okta puller Lambda function, invoked by an EventBridge schedule: each invocation
//! syncs the tenants that are due, within the invocation's time limit.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    inlet_shared::lambda::run_puller().await
}
