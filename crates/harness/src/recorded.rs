//! Recorded API responses: the fast tier of action tests.
//!
//! A test that only needs what the API server *answers* (a plan's GETs and server-side dry
//! runs, say) can run `genesis` against a [`Replayer`]: a plain-HTTP server on loopback that
//! serves the exchanges of a recording, so the test needs no API server and takes about a
//! second. The recordings are not written by hand: a [`Recorder`] sits between `genesis` and
//! the test world's real kube-apiserver (with the upstream CRDs) and writes down every
//! request and answer, and the slow test that makes them compares the committed file with
//! what the real server answers today ([`Recording::assert_matches_file`]), so a recording
//! cannot drift from the real server unnoticed. `GENESIS_RECORD=1` rewrites the files instead.
//!
//! A recording is JSON: one exchange per distinct request (method and path with query), sorted,
//! with the request body and the answer's status and body. Values the server makes up anew
//! each time (uids, timestamps, resource versions) are replaced with fixed, valid ones.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;

/// The environment variable that makes the recording tests rewrite their files.
pub const RECORD_ENV: &str = "GENESIS_RECORD";

/// Where recordings live: `tests/fixtures/recorded/` of the repository.
pub fn fixture(name: &str) -> PathBuf {
    crate::loopback::repo()
        .join("tests/fixtures/recorded")
        .join(format!("{name}.json"))
}

/// One request and the server's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    /// Path and query, e.g. `/apis/tinkerbell.org/v1alpha1/namespaces/tink-system/hardware/ms-02-1`.
    pub uri: String,
    /// The request body (JSON when it parses, else text); absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    pub status: u16,
    /// The answer's body (JSON when it parses, else text).
    pub response: Value,
}

impl Exchange {
    fn key(&self) -> (String, String) {
        (self.method.clone(), self.uri.clone())
    }
}

/// The exchanges of one recording, one per distinct request, sorted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// What was recorded, and how to record it again.
    pub about: String,
    pub exchanges: Vec<Exchange>,
}

impl Recording {
    pub fn load(path: &Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("read recording {}: {error}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("parse recording {}: {error}", path.display()))
    }

    /// With `GENESIS_RECORD=1`, writes this recording to `path`. Otherwise asserts that the
    /// file holds exactly this recording, naming the first exchange that differs.
    pub fn assert_matches_file(&self, path: &Path) {
        let text = serde_json::to_string_pretty(self).expect("recording as JSON") + "\n";
        if std::env::var(RECORD_ENV).is_ok_and(|value| value == "1") {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("fixture dir");
            std::fs::write(path, text).expect("write recording");
            return;
        }
        let committed = Self::load(path);
        for (ours, theirs) in self.exchanges.iter().zip(&committed.exchanges) {
            let mut found = Vec::new();
            differences(
                "",
                &serde_json::to_value(ours).expect("exchange"),
                &serde_json::to_value(theirs).expect("exchange"),
                &mut found,
            );
            assert!(
                found.is_empty(),
                "{}: {} {} is no longer what the real API server answers (today, recorded): \
                 {}; if the change is intended, record it again with {RECORD_ENV}=1 and review \
                 the diff",
                path.display(),
                theirs.method,
                theirs.uri,
                found.join("; ")
            );
        }
        assert_eq!(
            self.exchanges.len(),
            committed.exchanges.len(),
            "{}: the real API server was asked {} distinct requests, the recording has {}; \
             record it again with {RECORD_ENV}=1",
            path.display(),
            self.exchanges.len(),
            committed.exchanges.len()
        );
        assert_eq!(self.about, committed.about, "{}", path.display());
    }
}

/// Where `ours` and `theirs` differ, as `path: ours != theirs` lines.
fn differences(path: &str, ours: &Value, theirs: &Value, found: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(left), Value::Object(right)) => {
            let keys: std::collections::BTreeSet<&String> =
                left.keys().chain(right.keys()).collect();
            for key in keys {
                let (l, r) = (
                    left.get(key).unwrap_or(&Value::Null),
                    right.get(key).unwrap_or(&Value::Null),
                );
                differences(&format!("{path}.{key}"), l, r, found);
            }
        }
        (Value::Array(left), Value::Array(right)) if left.len() == right.len() => {
            for (index, (l, r)) in left.iter().zip(right).enumerate() {
                differences(&format!("{path}[{index}]"), l, r, found);
            }
        }
        (l, r) if l != r => found.push(format!("{path}: {l} != {r}")),
        _ => {}
    }
}

/// Replaces what the server makes up anew on every call (uids, resource versions,
/// `creationTimestamp`, managed-field `time`, conditions' `last…Time`) with fixed, valid values, so that two
/// recordings of the same requests compare equal and the replay still parses.
pub fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match (key.as_str(), &*field) {
                    ("uid", Value::String(_)) => {
                        *field = Value::String("00000000-0000-4000-8000-000000000000".into());
                    }
                    (time, Value::String(_))
                        if matches!(time, "creationTimestamp" | "time")
                            || (time.starts_with("last") && time.ends_with("Time")) =>
                    {
                        *field = Value::String("2026-01-01T00:00:00Z".into());
                    }
                    ("resourceVersion", Value::String(_)) => {
                        *field = Value::String("1".into());
                    }
                    _ => normalize(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn body_value(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

fn body_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::String(text) => text.clone().into_bytes(),
        other => serde_json::to_vec(other).expect("JSON body"),
    }
}

fn path_and_query(request: &Request<Incoming>) -> String {
    request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string)
}

/// A kubeconfig whose `default` context reaches `address` over plain HTTP, without credentials.
pub fn write_kubeconfig(path: &Path, address: SocketAddr) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: recorded\n  cluster:\n    server: http://{address}\n\
         users:\n- name: recorded\n  user: {{}}\ncontexts:\n- name: default\n  context:\n    cluster: recorded\n    user: recorded\n\
         current-context: default\n"
    );
    std::fs::write(path, text).expect("write kubeconfig");
}

/// Serves each connection accepted on `listener` with `handle`, until the task is dropped.
fn serve<F, Fut>(listener: TcpListener, handle: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handle = handle.clone();
                    async move { Ok::<_, Infallible>(handle(request).await) }
                });
                // A connection the client drops mid-request is its business.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn json_response(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a response")
}

/// Sits between `genesis` and a real API server (reached with `client`, which holds the
/// credentials) and writes down every exchange.
pub struct Recorder {
    pub address: SocketAddr,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn start(client: kube::Client) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let record = exchanges.clone();
        let task = serve(listener, move |request: Request<Incoming>| {
            let client = client.clone();
            let record = record.clone();
            async move {
                let method = request.method().clone();
                let uri = path_and_query(&request);
                let content_type = request.headers().get("content-type").cloned();
                let body = request
                    .into_body()
                    .collect()
                    .await
                    .map(|collected| collected.to_bytes().to_vec())
                    .unwrap_or_default();
                let mut forward = http::Request::builder().method(method.clone()).uri(&uri);
                if let Some(content_type) = content_type {
                    forward = forward.header("content-type", content_type);
                }
                let forward = forward
                    .body(kube::client::Body::from(body.clone()))
                    .expect("a request");
                let (status, answer) = match client.send(forward).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let bytes = response
                            .into_body()
                            .collect()
                            .await
                            .map(|collected| collected.to_bytes().to_vec())
                            .unwrap_or_default();
                        (status, bytes)
                    }
                    Err(error) => (599, format!("recorder: {error}").into_bytes()),
                };
                let mut response = body_value(&answer).unwrap_or(Value::Null);
                normalize(&mut response);
                let mut request = body_value(&body);
                if let Some(request) = request.as_mut() {
                    normalize(request);
                }
                record.lock().expect("recording").push(Exchange {
                    method: method.to_string(),
                    uri,
                    request,
                    status,
                    response,
                });
                json_response(status, answer)
            }
        });
        Self {
            address,
            exchanges,
            task,
        }
    }

    /// What was recorded, one exchange per distinct request. Asks that a request asked twice
    /// was answered the same both times (the recorded commands must not change anything).
    pub fn finish(self, about: &str) -> Recording {
        let exchanges = std::mem::take(&mut *self.exchanges.lock().expect("recording"));
        let mut distinct: BTreeMap<(String, String), Exchange> = BTreeMap::new();
        for exchange in exchanges {
            if let Some(earlier) = distinct.get(&exchange.key()) {
                assert_eq!(
                    (earlier.status, &earlier.response),
                    (exchange.status, &exchange.response),
                    "{} {} was answered differently the second time",
                    exchange.method,
                    exchange.uri
                );
            }
            distinct.insert(exchange.key(), exchange);
        }
        Recording {
            about: about.to_owned(),
            exchanges: distinct.into_values().collect(),
        }
    }
}

/// Serves a recording over plain HTTP. A request it has no answer for gets a 404 `Status`
/// saying so and is remembered: [`Replayer::unrecorded`] lists them.
pub struct Replayer {
    pub address: SocketAddr,
    unrecorded: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Replayer {
    pub async fn start(recording: Recording) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let answers: Arc<BTreeMap<(String, String), Exchange>> = Arc::new(
            recording
                .exchanges
                .into_iter()
                .map(|exchange| (exchange.key(), exchange))
                .collect(),
        );
        let unrecorded = Arc::new(Mutex::new(Vec::new()));
        let missed = unrecorded.clone();
        let task = serve(listener, move |request: Request<Incoming>| {
            let answers = answers.clone();
            let missed = missed.clone();
            async move {
                let key = (request.method().to_string(), path_and_query(&request));
                match answers.get(&key) {
                    Some(exchange) => {
                        json_response(exchange.status, body_bytes(&exchange.response))
                    }
                    None => {
                        let what = format!("{} {}", key.0, key.1);
                        let status = serde_json::json!({
                            "kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "reason": "NotFound", "code": 404,
                            "message": format!("not in the recording: {what}"),
                        });
                        missed.lock().expect("misses").push(what);
                        json_response(404, body_bytes(&status))
                    }
                }
            }
        });
        Self {
            address,
            unrecorded,
            task,
        }
    }

    /// Requests the recording had no answer for.
    pub fn unrecorded(&self) -> Vec<String> {
        self.unrecorded.lock().expect("misses").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Drop for Replayer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
