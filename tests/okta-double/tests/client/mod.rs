//! A tiny HTTP client for the tests: GET with an SSWS token, the raw header lines kept (to
//! tell one `link` line from two), and an RFC 8288 reading of every `link` value.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub const TOKEN: &str = "00InletDoubleToken";

#[derive(Clone)]
pub struct Client(Pool<HttpConnector, Full<Bytes>>);

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn number(&self, name: &str) -> u64 {
        self.header(name).unwrap_or_else(|| panic!("no {name} header")).parse().unwrap()
    }
    /// The raw `link` header lines.
    pub fn link_lines(&self) -> Vec<String> {
        self.headers.get_all("link").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
    /// The URL of `rel`, from any `link` line, comma-joined or not.
    pub fn link(&self, rel: &str) -> Option<String> {
        let want = format!("rel=\"{rel}\"");
        self.link_lines()
            .iter()
            .flat_map(|line| line.split(", <").map(|part| part.trim_start_matches('<').to_owned()).collect::<Vec<_>>())
            .find(|part| part.split(';').skip(1).any(|p| p.trim() == want))
            .map(|part| part.split('>').next().unwrap().to_owned())
    }
}

impl Client {
    pub fn new() -> Client {
        Client(Pool::builder(TokioExecutor::new()).build_http())
    }

    pub async fn get(&self, url: &str, token: Option<&str>) -> Result<Resp, String> {
        let mut req = Request::get(url).header("accept", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("SSWS {t}"));
        }
        let res = self.0.request(req.body(Full::new(Bytes::new())).unwrap()).await.map_err(|e| format!("{e:?}"))?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).map_err(|e| e.to_string())? };
        Ok(Resp { status, headers, body })
    }

    /// GET with the default token: the status and the body's length, unparsed.
    pub async fn raw(&self, url: &str) -> (u16, usize) {
        let req = Request::get(url).header("authorization", format!("SSWS {TOKEN}"));
        let res = self.0.request(req.body(Full::new(Bytes::new())).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        (status, res.into_body().collect().await.unwrap().to_bytes().len())
    }

    /// GET with the default token; panics when the connection fails.
    pub async fn ok(&self, url: &str) -> Resp {
        self.get(url, Some(TOKEN)).await.unwrap()
    }

    pub async fn send(&self, method: &str, url: &str, body: &Value) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let res = self.0.request(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }
}
