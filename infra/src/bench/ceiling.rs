//! The load client's ceiling: the same closed loop against a server that answers every
//! request at once with a user-sized body, on its own thread. What the client reaches here
//! bounds what it can measure; the servers' figures should stay well below it.

use crate::Args;
use crate::client::{Call, Target};
use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// Serves `body` to every request on a free loopback port, on one thread of its own.
fn trivial_server(body: &'static str) -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(async move {
                    let service = service_fn(move |_req: hyper::Request<hyper::body::Incoming>| async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            body.as_bytes(),
                        ))))
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
    });
    Ok(port)
}

pub async fn run(args: &Args, budget: Duration) -> Result<(), String> {
    const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"0b7e2f1e-5d0c-4c1e-9a0e-3f1d2c4b5a69","userName":"user0000001@bench.test","externalId":"ext-1","active":true,"displayName":"User 1","name":{"givenName":"Bench","familyName":"User1"},"emails":[{"value":"user0000001@bench.test","type":"work","primary":true}],"meta":{"resourceType":"User"}}"#;
    let port = trivial_server(USER)?;
    let t = Target::new("trivial", format!("http://127.0.0.1:{port}"), "t".into());
    let n = args.samples.max(1000) * 10;
    println!("load client against a server that answers at once ({n} requests each):");
    for concurrency in [1, args.concurrency] {
        let calls = (0..n).map(|i| Call::new(Method::GET, format!("/Users/{i}"), None)).collect();
        let s = crate::client::run(&t, calls, concurrency, budget).await;
        let client = match s.client_cores {
            Some(c) => format!("{c:.2} cores for the whole process, server included"),
            None => "CPU not known".to_owned(),
        };
        println!(
            "  {concurrency:>3} clients  {:>9.0} req/s   p50 {:.3} ms   p99 {:.3} ms   {} errors   {client}",
            s.per_sec,
            s.p50.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() * 1e3,
            s.errors
        );
    }
    Ok(())
}
