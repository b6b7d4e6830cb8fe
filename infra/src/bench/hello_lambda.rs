//! A hello-world `lambda_http` function: the baseline `inlet-bench --lambda-init` compares
//! the Inlet functions' cold start with. It is the function `cargo lambda new` writes,
//! including its `tracing` subscriber (every real function, Inlet's included, logs).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(lambda_http::service_fn(|_req: lambda_http::Request| async {
        Ok::<_, lambda_http::Error>("hello")
    }))
    .await
}
