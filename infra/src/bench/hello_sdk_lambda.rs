//! The second baseline for Lambda init time: the hello-world function plus what any function
//! that talks to DynamoDB and Secrets Manager builds at cold start, written the common way
//! (`aws_config::load_from_env()`, one client each, as aws-samples/serverless-rust-demo does).
//! It separates the SDK's own cost from Inlet's in `inlet-bench --lambda-init`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = aws_config::load_from_env().await;
    // Kept for the process's lifetime, as a real handler would use them.
    let _clients = (aws_sdk_dynamodb::Client::new(&config), aws_sdk_secretsmanager::Client::new(&config));
    lambda_http::run(lambda_http::service_fn(|_req: lambda_http::Request| async {
        Ok::<_, lambda_http::Error>("hello")
    }))
    .await
}
