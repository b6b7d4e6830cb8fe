//! The Users Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    inlet_shared::lambda::run(inlet_users::ENDPOINTS).await
}
