//! The Users Lambda function.

// An instance serves one request at a time: worker threads would only lengthen the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    inlet_shared::lambda::run(inlet_users::ENDPOINTS).await
}
