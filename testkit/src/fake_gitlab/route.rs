//! A route of the fake: a method, a path pattern as GitLab's OpenAPI description spells it
//! (`/api/v4/projects/{id}/merge_requests/{merge_request_iid}`), and its handler; and the request
//! a handler gets, with the pattern's parameters. A parameter matches one path segment as sent, so
//! a URL-encoded project path (`acme%2Fplatform%2Fgitops`) is one `{id}`.

use crate::fake_server::Params;
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Map, Value};

use super::reply::{error_json, Fail, Reply};
use super::State;

pub(super) type Handler = fn(&mut State, &Req) -> Result<Reply, Fail>;

pub(super) struct Route {
    pub(super) method: Method,
    path: &'static str,
    pub(super) handler: Handler,
}

impl Route {
    pub(super) const fn get(path: &'static str, handler: Handler) -> Route {
        Route {
            method: Method::GET,
            path,
            handler,
        }
    }

    pub(super) const fn post(path: &'static str, handler: Handler) -> Route {
        Route {
            method: Method::POST,
            path,
            handler,
        }
    }

    pub(super) const fn put(path: &'static str, handler: Handler) -> Route {
        Route {
            method: Method::PUT,
            path,
            handler,
        }
    }

    /// The parameters, if `segs` (the request path, split on `/`) matches the pattern.
    pub(super) fn matches<'a>(&self, segs: &[&'a str]) -> Option<Params<'a>> {
        Params::of(self.path, segs)
    }
}

/// A matched request, as a handler sees it.
pub(super) struct Req<'a> {
    pub(super) method: &'a Method,
    pub(super) params: Params<'a>,
    /// Query parameters; a repeated key (`labels[]=a&labels[]=b`) keeps every value.
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: &'a HeaderMap,
    pub(super) path: &'a str,
    pub(super) body: &'a [u8],
}

impl Req<'_> {
    /// The first value of a query parameter.
    pub(super) fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body's parameters as a JSON object: GitLab takes JSON, form-encoded and query-string
    /// parameters alike, so all three are folded into one object (the body wins). An unparsable
    /// JSON body is GitLab's 400.
    pub(super) fn params(&self) -> Result<Map<String, Value>, Fail> {
        let mut out = Map::new();
        for (k, v) in &self.query {
            add_form_value(&mut out, k, v);
        }
        if self.body.is_empty() {
            return Ok(out);
        }
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let text = String::from_utf8_lossy(self.body);
            for (k, v) in parse_pairs(&text) {
                add_form_value(&mut out, &k, &v);
            }
            return Ok(out);
        }
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => {
                out.extend(m);
                Ok(out)
            }
            _ => Err(error_json(
                StatusCode::BAD_REQUEST,
                json!({"error": "The provided content-type '' is not supported."}),
            )),
        }
    }
}

fn add_form_value(out: &mut Map<String, Value>, k: &str, v: &str) {
    if let Some(base) = k.strip_suffix("[]") {
        let entry = out
            .entry(base.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(Value::String(v.to_string()));
        }
    } else {
        out.insert(k.to_string(), Value::String(v.to_string()));
    }
}

/// `a=1&b=x%20y` → pairs, percent- and `+`-decoded.
pub(super) fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map(parse_pairs).unwrap_or_default()
}

/// A parameter GitLab reads as a list: a JSON array, or a comma-separated string.
pub(super) fn list_param(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect(),
        ),
        Value::String(s) => Some(
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        Value::Number(n) => Some(vec![n.to_string()]),
        _ => None,
    }
}

pub(super) fn str_param(m: &Map<String, Value>, name: &str) -> Option<String> {
    match m.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn bool_param(m: &Map<String, Value>, name: &str) -> Option<bool> {
    match m.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1" | "yes")),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        _ => None,
    }
}
