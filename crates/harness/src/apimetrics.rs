//! Request counts from a real kube-apiserver's own `/metrics`: `apiserver_request_total` by
//! verb, resource and subresource, read with the world's admin client before and after
//! something, and `apiserver_longrunning_requests` to know when every watch has ended (a
//! WATCH is counted when it ends).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One counter: (verb, resource, subresource), e.g. ("WATCH", "nodes", "").
pub type Key = (String, String, String);

/// Requests by verb, resource and subresource (every response code summed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requests(pub BTreeMap<Key, u64>);

impl Requests {
    /// `self - earlier`, keeping only what changed.
    pub fn since(&self, earlier: &Requests) -> Requests {
        Requests(
            self.0
                .iter()
                .filter_map(|(key, after)| {
                    let before = earlier.0.get(key).copied().unwrap_or(0);
                    (*after > before).then(|| (key.clone(), after - before))
                })
                .collect(),
        )
    }

    pub fn get(&self, verb: &str, resource: &str, subresource: &str) -> u64 {
        self.0
            .get(&(verb.to_owned(), resource.to_owned(), subresource.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests on API resources (the `/metrics` reads themselves have no resource).
    pub fn on_resources(&self) -> Requests {
        Requests(
            self.0
                .iter()
                .filter(|((_, resource, _), _)| !resource.is_empty())
                .map(|(key, count)| (key.clone(), *count))
                .collect(),
        )
    }

    /// Only the requests on `resource` (any subresource).
    pub fn on(&self, resource: &str) -> Requests {
        Requests(
            self.0
                .iter()
                .filter(|((_, on, _), _)| on == resource)
                .map(|(key, count)| (key.clone(), *count))
                .collect(),
        )
    }

    /// Everything but the requests on `resource`.
    pub fn besides(&self, resource: &str) -> Requests {
        Requests(
            self.0
                .iter()
                .filter(|((_, on, _), _)| on != resource)
                .map(|(key, count)| (key.clone(), *count))
                .collect(),
        )
    }

    /// Takes `count` requests of this key away (what another known client made).
    pub fn minus(&mut self, verb: &str, resource: &str, subresource: &str, count: u64) {
        let key = (verb.to_owned(), resource.to_owned(), subresource.to_owned());
        if let Some(value) = self.0.get_mut(&key) {
            *value = value.saturating_sub(count);
            if *value == 0 {
                self.0.remove(&key);
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `LIST nodes 1, WATCH nodes 1`.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "none".to_owned();
        }
        self.0
            .iter()
            .map(|((verb, resource, subresource), count)| {
                let what = if subresource.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}/{subresource}")
                };
                format!("{verb} {what} {count}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One sample of the Prometheus text format: name, labels, value.
fn sample(line: &str) -> Option<(&str, BTreeMap<String, String>, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (name, rest) = match line.find('{') {
        Some(open) => (&line[..open], &line[open + 1..]),
        None => {
            let (name, value) = line.split_once(' ')?;
            return Some((name, BTreeMap::new(), value.trim().parse().ok()?));
        }
    };
    let mut labels = BTreeMap::new();
    let mut chars = rest.char_indices().peekable();
    let mut key = String::new();
    let mut end = None;
    while let Some((index, c)) = chars.next() {
        match c {
            '}' => {
                end = Some(index);
                break;
            }
            ',' | ' ' => {}
            '=' => {
                // A quoted value with \" \\ \n escapes.
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return None;
                }
                let mut value = String::new();
                loop {
                    match chars.next()?.1 {
                        '\\' => match chars.next()?.1 {
                            'n' => value.push('\n'),
                            other => value.push(other),
                        },
                        '"' => break,
                        other => value.push(other),
                    }
                }
                labels.insert(std::mem::take(&mut key), value);
            }
            other => key.push(other),
        }
    }
    let value = rest[end? + 1..].split_whitespace().next()?.parse().ok()?;
    Some((name, labels, value))
}

/// Sums a metric's samples by (verb, resource, subresource).
pub fn parse(text: &str, metric: &str) -> Requests {
    let mut out = Requests::default();
    for line in text.lines() {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        if name != metric {
            continue;
        }
        let label = |key: &str| labels.get(key).cloned().unwrap_or_default();
        *out.0
            .entry((label("verb"), label("resource"), label("subresource")))
            .or_default() += value as u64;
    }
    out
}

async fn metrics_text(client: &kube::Client) -> String {
    let request = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("a GET /metrics request");
    client
        .request_text(request)
        .await
        .expect("the API server's /metrics (admin client)")
}

/// Every request the server has answered so far.
pub async fn requests(client: &kube::Client) -> Requests {
    parse(&metrics_text(client).await, "apiserver_request_total")
}

/// WATCH requests on `resource` open right now (`apiserver_longrunning_requests`).
pub async fn open_watches(client: &kube::Client, resource: &str) -> u64 {
    parse(
        &metrics_text(client).await,
        "apiserver_longrunning_requests",
    )
    .0
    .iter()
    .filter(|((verb, watched, _), _)| verb == "WATCH" && watched == resource)
    .map(|(_, count)| *count)
    .sum()
}

/// Waits until no more WATCH requests on `resource` are open than `baseline` (those open before
/// the client under test started), so that every watch of that client has ended and is
/// counted; at most `limit`. Returns false if some stayed open.
pub async fn watches_back_to(
    client: &kube::Client,
    resource: &str,
    baseline: u64,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if open_watches(client, resource).await <= baseline {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        // Measuring, not waiting for a product condition: the gauge has no watch of its own.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
