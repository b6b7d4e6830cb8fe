//! The events publisher Lambda function, fed by the table's DynamoDB stream: each invocation
//! publishes the batch's events to the EventBridge bus, in order, and reports what it could
//! not publish as a partial-batch failure.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    inlet_shared::lambda::run_publisher().await
}
