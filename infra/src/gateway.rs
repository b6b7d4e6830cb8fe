//! `inlet-gateway`: a local stand-in for API Gateway's HTTP API in front of Lambda runtime
//! emulators (the RIE that ships with the SAM CLI). Each HTTP request becomes an API
//! Gateway v2 event, goes to the Groups or Users function's emulator by path (as the
//! template's routes do) and its answer becomes the HTTP response. Used by the test
//! command to drive the real function binaries with the identity providers' suites.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Parser)]
#[command(about = "Local API Gateway (HTTP API v2) in front of Lambda runtime emulators")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Emulator of the Users function (and discovery), e.g. http://127.0.0.1:9001
    #[arg(long)]
    users: String,
    /// Emulator of the Groups function.
    #[arg(long)]
    groups: String,
}

type Http = Client<HttpConnector, Full<Bytes>>;

#[derive(Debug, PartialEq, Eq)]
enum Function {
    Users,
    Groups,
}

/// The function a path belongs to, as the template routes it: HTTP API paths are
/// case-sensitive, so only `Groups` and `groups` have Groups routes; everything else (other
/// spellings of Groups included) falls to the Users function's catch-all.
fn function(path: &str) -> Function {
    match path.split('/').nth(4) {
        Some("Groups" | "groups") => Function::Groups,
        _ => Function::Users,
    }
}

fn target<'a>(args: &'a Args, path: &str) -> &'a str {
    match function(path) {
        Function::Users => &args.users,
        Function::Groups => &args.groups,
    }
}

fn event(parts: &http::request::Parts, body: &Bytes) -> Value {
    let mut headers = Map::new();
    for (k, v) in &parts.headers {
        headers.insert(k.as_str().to_ascii_lowercase(), json!(v.to_str().unwrap_or_default()));
    }
    headers.entry("x-forwarded-proto").or_insert(json!("http"));
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    let params: Map<String, Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let mut e = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": headers_host(&parts.headers),
            "http": {"method": parts.method.as_str(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
            "requestId": "local", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0
        },
        "isBase64Encoded": false,
    });
    if let Some(fields) = e.as_object_mut() {
        if !params.is_empty() {
            fields.insert("queryStringParameters".into(), Value::Object(params));
        }
        if !body.is_empty() {
            fields.insert("body".into(), json!(String::from_utf8_lossy(body)));
        }
    }
    e
}

fn headers_host(h: &http::HeaderMap) -> String {
    h.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost").to_owned()
}

async fn invoke(http: &Http, emulator: &str, event: &Value) -> Result<Value, String> {
    let req = http::Request::post(format!("{emulator}/2015-03-31/functions/function/invocations"))
        .body(Full::new(Bytes::from(event.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = http.request(req).await.map_err(|e| e.to_string())?;
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| format!("the function answered no JSON: {e}"))
}

async fn handle(args: Arc<Args>, http: Http, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // API Gateway's own payload limit is 10 MB; the function enforces its 1 MiB.
    let body = match Limited::new(body, 10 * 1024 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(413, Bytes::new(), &Map::new()),
    };
    let event = event(&parts, &body);
    match invoke(&http, target(&args, parts.uri.path()), &event).await {
        Ok(out) => {
            let status =
                out.get("statusCode").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(502);
            let body = out.get("body").and_then(Value::as_str).map(|s| Bytes::from(s.to_owned())).unwrap_or_default();
            let headers = out.get("headers").and_then(Value::as_object).cloned().unwrap_or_default();
            reply(status, body, &headers)
        }
        Err(e) => {
            eprintln!("inlet-gateway: {e}");
            reply(502, Bytes::from(e), &Map::new())
        }
    }
}

fn reply(status: u16, body: Bytes, headers: &Map<String, Value>) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(body));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (k, v) in headers {
        if let (Ok(name), Some(Ok(value))) =
            (http::HeaderName::try_from(k.as_str()), v.as_str().map(http::HeaderValue::from_str))
        {
            r.headers_mut().insert(name, value);
        }
    }
    r
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Arc::new(Args::parse());
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("inlet-gateway: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("inlet-gateway listening on http://{addr}");
    }
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (args, http) = (Arc::clone(&args), http.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (args, http) = (Arc::clone(&args), http.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(args, http, req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Function, function};

    #[test]
    fn routes_as_the_template_does() {
        for path in ["/t/scim/v2/Groups", "/t/scim/v2/groups", "/t/scim/v2/Groups/42", "/t/scim/v2/groups/42"] {
            assert_eq!(function(path), Function::Groups, "{path}");
        }
        for path in
            ["/t/scim/v2/GROUPS", "/t/scim/v2/gRoUpS/42", "/t/scim/v2/Users", "/t/scim/v2/Schemas", "/t/scim/v2"]
        {
            assert_eq!(function(path), Function::Users, "{path}");
        }
    }
}
