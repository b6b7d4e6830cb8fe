//! A hello-world `lambda_http` function: the baseline `inlet-bench --lambda-init` compares
//! the Inlet functions' cold start with.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(|_req: lambda_http::Request| async {
        Ok::<_, lambda_http::Error>("hello")
    }))
    .await
}
