//! The token-management Lambda function: the admin API (`/admin/tenants…`), behind IAM.

// An instance serves one request at a time: worker threads would only lengthen the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    inlet_shared::lambda::run_admin().await
}
