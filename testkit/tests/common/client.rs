//! A small HTTP/1.1 client for the fakes' tests: one request per connection, the answer's
//! status, headers and body (the pagination checks need `Link`, `X-Next-Page` and
//! `X-Total-Count`), JSON bodies, and each forge's way of sending a token.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client for one base URL (`http://127.0.0.1:P/api/v4`, `http://127.0.0.1:P/api/v1`), with
/// the token sent as its forge expects.
pub struct Client {
    pub base: String,
    /// The header that carries the token.
    auth: Option<(&'static str, String)>,
}

impl Client {
    /// GitLab: `PRIVATE-TOKEN: X`.
    pub fn gitlab(base: &str, token: &str) -> Client {
        Client::with(base, Some(("PRIVATE-TOKEN", token.to_string())))
    }

    /// Gitea/Forgejo: `Authorization: token X`; none without a token.
    pub fn gitea(base: &str, token: Option<&str>) -> Client {
        Client::with(base, token.map(|t| ("Authorization", format!("token {t}"))))
    }

    fn with(base: &str, auth: Option<(&'static str, String)>) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            auth,
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.send("POST", path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.send("PUT", path, Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Response {
        self.send("PATCH", path, Some(body))
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let mut headers = vec![("Accept", "application/json")];
        if let Some((name, value)) = &self.auth {
            headers.push((name, value.as_str()));
        }
        request(method, &format!("{}{path}", self.base), &headers, body)
    }
}

/// One request over a new connection to `url` (`http://HOST:PORT/PATH?QUERY`); a JSON body is
/// sent with `Content-Type: application/json`.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Response {
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut stream =
        TcpStream::connect(authority).unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {url}: no HTTP answer"));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .expect("chunk size");
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 4 + size..];
        }
        body = decoded;
    }
    Response {
        status,
        headers,
        body,
    }
}
