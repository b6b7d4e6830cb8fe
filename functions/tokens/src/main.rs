//! The token-management Lambda function: the admin API (`/admin/tenants…`), behind IAM.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    inlet_shared::lambda::run_admin().await
}
