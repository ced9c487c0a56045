//! A small JSON client for a forge's REST API, on the HTTP stack already in the tree (hyper and
//! rustls, as under octocrab): GitLab and Gitea/Forgejo speak through it.
//!
//! It knows what every such API shares and nothing of any one of them: a token in a header,
//! JSON both ways, one time limit for a whole exchange, GETs tried again on 5xx and 429 (after
//! `Retry-After`), pages followed (`X-Next-Page` or `Link: <…>; rel="next"`), and the error
//! bodies both forges send read down to one message. What a status means, and which setting
//! to fix, the forge's own file says. A write is sent once: a caller that wants to try it again
//! reads the state first, so that nothing is opened twice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::de::DeserializeOwned;
use tracing::warn;

use super::retry::{retry_wait, RetryPolicy, Wait};
use crate::clock::Clock;
use crate::error::{Error, Input, Kind};
use crate::https::{error_chain, HttpsClient};

/// The most pages of one list read: a list longer than this many pages is cut, with a warning.
const MAX_PAGES: usize = 100;

/// The longest forge message carried into an error line.
const MAX_MESSAGE_CHARS: usize = 300;

/// How to reach one forge's API.
#[derive(Clone)]
pub struct RestSettings {
    /// The API's root: `https://gitlab.example.com/api/v4`.
    pub api_url: String,
    /// The header the token goes in, and its whole value (`PRIVATE-TOKEN: x`, `Authorization:
    /// token x`).
    pub auth: (HeaderName, String),
    /// A certificate authority to trust besides the system's, and the setting that names it.
    pub ca_file: Option<(PathBuf, String)>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// The forge's name in messages: `GitLab`, `Gitea`.
    pub forge: &'static str,
}

impl std::fmt::Debug for RestSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestSettings")
            .field("api_url", &self.api_url)
            .field("auth", &self.auth.0)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The client, shared by every job: cloning it shares its connections.
#[derive(Clone)]
pub struct Rest {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpsClient,
    api_url: String,
    auth: (HeaderName, HeaderValue),
    timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    forge: &'static str,
}

/// A call that did not succeed: the forge's answer, or why there was none.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// `None`: no answer (the connection failed, or the time ran out).
    pub status: Option<StatusCode>,
    /// The forge's own message, or what went wrong on the way.
    pub message: String,
}

impl ApiError {
    /// Whether trying again later may succeed: no answer, a 5xx, or a 429.
    pub fn is_transient(&self) -> bool {
        self.status
            .is_none_or(|s| s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS)
    }
}

/// A successful answer's body, and its headers (for pages).
struct Answer {
    headers: HeaderMap,
    body: Bytes,
}

impl Rest {
    /// Builds the client; talks to nothing yet.
    pub fn new(settings: RestSettings, clock: Arc<dyn Clock>) -> Result<Rest> {
        let client = crate::https::client(
            settings.forge,
            settings
                .ca_file
                .as_ref()
                .map(|(p, k)| (p.as_path(), k.as_str())),
            settings.timeout,
        )?;
        let mut value = HeaderValue::from_str(&settings.auth.1).map_err(|_| {
            Error::usage(format!(
                "the {} token holds characters a header cannot carry; check its file",
                settings.forge
            ))
        })?;
        value.set_sensitive(true);
        Ok(Rest {
            inner: Arc::new(Inner {
                client,
                api_url: settings.api_url.trim_end_matches('/').to_string(),
                auth: (settings.auth.0, value),
                timeout: settings.timeout,
                retry: settings.retry,
                clock,
                forge: settings.forge,
            }),
        })
    }

    pub fn retry(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// GET `path` (under the API's root), tried again on 5xx and 429.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let answer = self.get_answer(&self.url(path)).await?;
        parse(&answer.body, "GET", path)
    }

    /// Every item of a list, page after page.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut url = self.url(path);
        for _ in 0..MAX_PAGES {
            let answer = self.get_answer(&url).await?;
            let page: Vec<T> = parse(&answer.body, "GET", path)?;
            items.extend(page);
            match next_page(&url, &answer.headers) {
                Some(next) => url = self.on_own_server(&next),
                None => return Ok(items),
            }
        }
        warn!(
            "GET {path}: more than {MAX_PAGES} pages; read the first {}",
            items.len()
        );
        Ok(items)
    }

    /// Sends one write (`POST`, `PUT`, `PATCH`) with a JSON body, once. An empty answer reads
    /// as JSON `null`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        let body = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        let (status, answer) = self
            .exchange(method.clone(), &self.url(path), Some(body))
            .await?;
        if !status.is_success() {
            return Err(api_error(status, &answer.body));
        }
        parse(&answer.body, method.as_str(), path)
    }

    async fn get_answer(&self, url: &str) -> Result<Answer, ApiError> {
        let retry = &self.inner.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= retry.attempts;
            let (wait, error) = match self.exchange(Method::GET, url, None).await {
                Ok((status, answer)) if status.is_success() => return Ok(answer),
                Ok((status, answer)) => {
                    let wait = retry_wait(status, &answer.headers, self.inner.clock.now());
                    (wait, api_error(status, &answer.body))
                }
                Err(e) => (Some(Wait::ServerError), e),
            };
            let delay = match wait {
                Some(Wait::RateLimited(d)) if d <= retry.max_wait => d,
                Some(Wait::ServerError) => retry.backoff(attempt),
                _ => return Err(error),
            };
            if last {
                return Err(error);
            }
            warn!(
                "GET {}: {} answered {}; trying again in {delay:?}",
                path_of(url, &self.inner.api_url),
                self.inner.forge,
                describe(&error)
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One request and its whole answer, within the time limit.
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Answer), ApiError> {
        let inner = &self.inner;
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("revertbot/", env!("CARGO_PKG_VERSION")))
            .header(inner.auth.0.clone(), inner.auth.1.clone());
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| ApiError {
                status: None,
                message: format!("cannot make a request for {url}: {e}"),
            })?;
        let exchange = async {
            let response = inner.client.request(request).await.map_err(|e| ApiError {
                status: None,
                message: error_chain(&e),
            })?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| ApiError {
                status: None,
                message: format!("reading the answer: {}", error_chain(&e)),
            })?;
            Ok((
                parts.status,
                Answer {
                    headers: parts.headers,
                    body: body.to_bytes(),
                },
            ))
        };
        match tokio::time::timeout(inner.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiError {
                status: None,
                message: format!("no answer within {} s", inner.timeout.as_secs()),
            }),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.api_url)
    }

    /// `url`'s path and query on the API's own server: a forge behind a proxy writes its page
    /// links with its public address (Gitea's `ROOT_URL`), and the token goes nowhere else.
    fn on_own_server(&self, url: &str) -> String {
        let own = origin(&self.inner.api_url).unwrap_or_default();
        match origin(url) {
            Some(theirs) => format!("{own}{}", &url[theirs.len()..]),
            None => format!("{own}{url}"),
        }
    }
}

/// Which setting each of a forge's refusals points at.
pub struct Hints {
    /// `GitLab`, `Gitea`.
    pub forge: &'static str,
    /// The token's setting (401, 403).
    pub token: Input,
    /// The scopes (and role) the token needs (403).
    pub needs: &'static str,
    /// The repository as configured, and its setting (404).
    pub repo: (String, Input),
}

impl Hints {
    /// The forge's answer to `method path` as one line naming what to fix: 401 the token, 403
    /// its scopes, 404 the repository's name; no answer, 5xx and 429 are transient.
    pub fn fail(&self, method: &str, path: &str, e: &ApiError) -> anyhow::Error {
        let forge = self.forge;
        let Some(status) = e.status else {
            return Error::transient(format!(
                "{forge} did not answer {method} {path}: {}",
                e.message
            ))
            .into();
        };
        let kind = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Kind::Usage,
            _ if e.is_transient() => Kind::Transient,
            _ => Kind::Internal,
        };
        let error = Error::new(kind).text(format!(
            "{forge} answered {} to {method} {path}: {}",
            status.as_u16(),
            e.message
        ));
        match status {
            StatusCode::UNAUTHORIZED => error
                .text("; the token is wrong or expired: check ")
                .input(self.token),
            StatusCode::FORBIDDEN => error
                .text(format!(
                    "; the token lacks a scope: it needs {} (",
                    self.needs
                ))
                .input(self.token)
                .text(")"),
            StatusCode::NOT_FOUND => error
                .text(format!(
                    "; nothing named {:?} that the token can see: check ",
                    self.repo.0
                ))
                .input(self.repo.1),
            _ => error,
        }
        .into()
    }
}

/// What an error says in a log line: its status and message.
pub fn describe(e: &ApiError) -> String {
    match e.status {
        Some(status) => format!("{} {}", status.as_u16(), e.message),
        None => e.message.clone(),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8], method: &str, path: &str) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError {
        status: Some(StatusCode::OK),
        message: format!("the answer to {method} {path} is not what the API documents: {e}"),
    })
}

/// The message of an error body, as GitLab and Gitea/Forgejo write them: `{"message": "…"}`,
/// `{"message": ["…"]}`, `{"message": {"field": ["…"]}}`, `{"error": "…",
/// "error_description": "…"}`, `{"errors": ["…"] | [{"message": "…"}]}`.
fn api_error(status: StatusCode, body: &[u8]) -> ApiError {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut parts = Vec::new();
    flatten_message(value.get("message"), None, &mut parts);
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        parts.push(
            match value.get("error_description").and_then(|d| d.as_str()) {
                Some(d) => format!("{error}: {d}"),
                None => error.to_string(),
            },
        );
    }
    if let Some(errors) = value.get("errors").and_then(|e| e.as_array()) {
        for e in errors {
            flatten_message(e.get("message").or(Some(e)), None, &mut parts);
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.dedup();
    let message = if parts.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        let joined = parts
            .join("; ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match joined.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &joined[..cut]),
            None => joined,
        }
    };
    ApiError {
        status: Some(status),
        message,
    }
}

fn flatten_message(value: Option<&serde_json::Value>, field: Option<&str>, out: &mut Vec<String>) {
    use serde_json::Value;
    let prefix = |text: &str| match field {
        Some(f) => format!("{f} {text}"),
        None => text.to_string(),
    };
    match value {
        Some(Value::String(s)) => out.push(prefix(s)),
        Some(Value::Array(items)) => {
            for item in items {
                flatten_message(Some(item), field, out);
            }
        }
        Some(Value::Object(fields)) => {
            for (name, item) in fields {
                flatten_message(Some(item), Some(name), out);
            }
        }
        _ => {}
    }
}

/// The next page's URL: GitLab's `X-Next-Page` (a page number; empty on the last page), else
/// `Link: <…>; rel="next"` (Gitea/Forgejo, and GitLab too).
fn next_page(url: &str, headers: &HeaderMap) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(page) = header("x-next-page") {
        let page = page.trim();
        if page.is_empty() {
            return None;
        }
        return page.parse::<u64>().ok().map(|n| with_page(url, n));
    }
    header("link")?.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// `url` with its `page` query parameter set to `page`.
fn with_page(url: &str, page: u64) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .map(str::to_string)
        .collect();
    params.push(format!("page={page}"));
    format!("{base}?{}", params.join("&"))
}

/// `scheme://authority` of a URL.
fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

/// A URL without the API's root, for log lines.
fn path_of<'a>(url: &'a str, api_url: &str) -> &'a str {
    url.strip_prefix(api_url).unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_error_bodies_of_gitlab_and_gitea() {
        let read = |status: u16, body: &str| {
            api_error(StatusCode::from_u16(status).unwrap(), body.as_bytes()).message
        };
        assert_eq!(
            read(401, r#"{"message":"401 Unauthorized"}"#),
            "401 Unauthorized"
        );
        assert_eq!(
            read(
                409,
                r#"{"message":["Another open merge request already exists for this source branch: !4"]}"#
            ),
            "Another open merge request already exists for this source branch: !4"
        );
        assert_eq!(
            read(400, r#"{"message":{"source_branch":["does not exist"]}}"#),
            "source_branch does not exist"
        );
        assert_eq!(
            read(
                403,
                r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token."}"#
            ),
            "insufficient_scope: The request requires higher privileges than provided by the access token."
        );
        assert_eq!(
            read(
                422,
                r#"{"message":"[Head]: Required","url":"https://x/api/swagger"}"#
            ),
            "[Head]: Required"
        );
        assert_eq!(read(502, "<html>bad gateway</html>"), "Bad Gateway");
    }

    #[test]
    fn follows_either_kind_of_next_page() {
        let mut h = HeaderMap::new();
        h.insert("x-next-page", "3".parse().unwrap());
        assert_eq!(
            next_page("https://g/api/v4/x?per_page=100&page=2", &h).as_deref(),
            Some("https://g/api/v4/x?per_page=100&page=3")
        );
        h.insert("x-next-page", "".parse().unwrap());
        assert_eq!(next_page("https://g/api/v4/x", &h), None, "the last page");
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            r#"<https://t/api/v1/repos/a/b/pulls?page=2&limit=50>; rel="next", <https://t/api/v1/repos/a/b/pulls?page=4&limit=50>; rel="last""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_page("https://t/api/v1/repos/a/b/pulls?limit=50", &h).as_deref(),
            Some("https://t/api/v1/repos/a/b/pulls?page=2&limit=50")
        );
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            r#"<https://t/api/v1/x?page=1>; rel="prev""#.parse().unwrap(),
        );
        assert_eq!(next_page("https://t/api/v1/x?page=2", &h), None);
    }

    #[test]
    fn an_origin_is_scheme_and_authority() {
        assert_eq!(
            origin("https://gitlab.example.com:8443/api/v4/projects"),
            Some("https://gitlab.example.com:8443")
        );
        assert_eq!(origin("http://127.0.0.1:9/"), Some("http://127.0.0.1:9"));
        assert_eq!(origin("no-scheme"), None);
    }
}
