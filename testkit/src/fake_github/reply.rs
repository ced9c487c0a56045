//! What every resource answers with: GitHub's headers, its error shapes, pagination, and the JSON
//! pieces several resources share.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

use super::model::{node_id, Identity};
use super::{State, DOCS};

pub(super) type Reply = Response;
/// An error answer (boxed: a `Response` is large).
pub(super) type Fail = Box<Response>;

impl State {
    /// `simple-user`: an author, an assignee, a reviewer, an owner.
    pub(super) fn simple_user(&self, who: &Identity) -> Value {
        let api = self.api();
        // `name[bot]` appears percent-encoded in URLs, as GitHub sends it.
        let login = &encode_path_segment(&who.login);
        let html_url = match &who.app_slug {
            Some(slug) => format!("https://github.com/apps/{slug}"),
            None => format!("https://github.com/{login}"),
        };
        json!({
            "login": who.login,
            "id": who.id,
            "node_id": node_id(match who.kind { "Bot" => "BOT", "Organization" => "O", _ => "U" }, who.id),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", who.id),
            "gravatar_id": "",
            "url": format!("{api}/users/{login}"),
            "html_url": html_url,
            "followers_url": format!("{api}/users/{login}/followers"),
            "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
            "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
            "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
            "organizations_url": format!("{api}/users/{login}/orgs"),
            "repos_url": format!("{api}/users/{login}/repos"),
            "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
            "received_events_url": format!("{api}/users/{login}/received_events"),
            "type": who.kind,
            "user_view_type": "public",
            "site_admin": false,
        })
    }
}

/// Adds `extra`'s fields to the object `v` (`json!` hits the recursion limit on large objects).
pub(super) fn merge(v: &mut Value, extra: Value) {
    let Value::Object(extra) = extra else {
        panic!("merge: not an object")
    };
    v.as_object_mut()
        .expect("merge into an object")
        .extend(extra);
}

pub(super) fn author_association(who: &Identity) -> &'static str {
    if who.kind == "Bot" {
        "NONE"
    } else {
        "MEMBER"
    }
}

pub(super) fn reactions(url: &str) -> Value {
    json!({
        "url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
        "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
    })
}

pub(super) fn encode_path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn parse_query(uri: &Uri) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// Slices `items` by `per_page` (default 30, max 100) and `page`, with GitHub's `Link` header.
pub(super) fn paginated(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Reply, Fail> {
    let per_page = query
        .get("per_page")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut resp = ok(StatusCode::OK, Value::Array(slice));
    if last > 1 {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let link_to = |p: usize| {
            let mut q: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k.as_str() != "page")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            q.sort();
            q.push(("page".to_string(), p.to_string()));
            let qs: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{}={}", encode_path_segment(k), encode_path_segment(v)))
                .collect();
            format!("<http://{host}{}?{}>", uri.path(), qs.join("&"))
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
        }
        if page < last {
            links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
            links.push(format!("{}; rel=\"last\"", link_to(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"first\"", link_to(1)));
        }
        if !links.is_empty() {
            resp.headers_mut()
                .insert("link", HeaderValue::from_str(&links.join(", ")).unwrap());
        }
    }
    Ok(resp)
}

pub(super) fn add_github_headers(h: &mut HeaderMap) {
    let reset = (Utc::now().timestamp() + 3600).to_string();
    for (k, v) in [
        ("x-github-media-type", "github.v3; format=json".to_string()),
        ("x-github-api-version-selected", "2022-11-28".to_string()),
        ("x-ratelimit-limit", "5000".to_string()),
        ("x-ratelimit-remaining", "4990".to_string()),
        ("x-ratelimit-used", "10".to_string()),
        ("x-ratelimit-reset", reset),
        ("x-ratelimit-resource", "core".to_string()),
        (
            "x-github-request-id",
            "0400:3F2A:1C0B5E1:1D3A7C2:6560A1B2".to_string(),
        ),
    ] {
        h.insert(k, HeaderValue::from_str(&v).unwrap());
    }
}

pub(super) fn ok(status: StatusCode, body: Value) -> Reply {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    add_github_headers(h);
    resp
}

pub(super) fn error(status: StatusCode, message: &str, documentation_url: &str) -> Fail {
    Box::new(ok(
        status,
        json!({"message": message, "documentation_url": documentation_url, "status": status.as_str()}),
    ))
}

pub(super) fn not_found() -> Fail {
    error(StatusCode::NOT_FOUND, "Not Found", DOCS)
}

pub(super) fn bad_credentials() -> Fail {
    error(StatusCode::UNAUTHORIZED, "Bad credentials", DOCS)
}

pub(super) fn validation_failed(documentation_url: &str, err: Value) -> Fail {
    Box::new(ok(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "message": "Validation Failed",
            "errors": [err],
            "documentation_url": documentation_url,
            "status": "422",
        }),
    ))
}
