//! What every resource answers with: GitLab's error shapes, its pagination headers, and the JSON
//! pieces several resources share (users).

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::model::User;
use super::route::Req;
use super::State;

pub(super) type Reply = Response;
/// An error answer (boxed: a `Response` is large).
pub(super) type Fail = Box<Response>;

pub(super) fn ok(status: StatusCode, body: Value) -> Reply {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

pub(super) fn error_json(status: StatusCode, body: Value) -> Fail {
    Box::new(ok(status, body))
}

/// `{"message": "<message>"}`, GitLab's usual error shape.
pub(super) fn message(status: StatusCode, message: &str) -> Fail {
    error_json(status, json!({ "message": message }))
}

pub(super) fn unauthorized() -> Fail {
    message(StatusCode::UNAUTHORIZED, "401 Unauthorized")
}

pub(super) fn insufficient_scope(required: &str) -> Fail {
    let mut resp = ok(
        StatusCode::FORBIDDEN,
        json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": required,
        }),
    );
    resp.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_str(&format!(
            "Bearer realm=\"Protected by OAuth 2\", error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", scope=\"{required}\""
        ))
        .unwrap(),
    );
    Box::new(resp)
}

pub(super) fn project_not_found() -> Fail {
    message(StatusCode::NOT_FOUND, "404 Project Not Found")
}

/// What GitLab answers when a record under a project (a merge request, a note) is missing.
pub(super) fn not_found() -> Fail {
    message(StatusCode::NOT_FOUND, "404 Not found")
}

/// `{"error": "<param> is missing"}`: GitLab's (Grape's) answer for a missing required parameter.
pub(super) fn missing(param: &str) -> Fail {
    error_json(
        StatusCode::BAD_REQUEST,
        json!({ "error": format!("{param} is missing") }),
    )
}

/// Slices `items` by `per_page` (default 20, max 100) and `page`, with GitLab's pagination
/// headers: `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page` and `X-Prev-Page`
/// (empty when there is none), and `Link`.
pub(super) fn paginated(items: Vec<Value>, req: &Req, base_url: &str) -> Reply {
    let per_page = req
        .q("per_page")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(20)
        .min(100);
    let page = req
        .q("page")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let total = items.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut resp = ok(StatusCode::OK, Value::Array(slice));
    let next = (page < total_pages).then(|| page + 1);
    let prev = (page > 1).then(|| (page - 1).min(total_pages));
    let h = resp.headers_mut();
    let opt = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    for (k, v) in [
        ("x-page", page.to_string()),
        ("x-per-page", per_page.to_string()),
        ("x-total", total.to_string()),
        ("x-total-pages", total_pages.to_string()),
        ("x-next-page", opt(next)),
        ("x-prev-page", opt(prev)),
    ] {
        h.insert(k, HeaderValue::from_str(&v).unwrap());
    }
    let link_to = |p: usize| {
        let mut q: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        q.push(format!("page={p}"));
        q.push(format!("per_page={per_page}"));
        format!("<{base_url}{}?{}>", req.path, q.join("&"))
    };
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(format!("{}; rel=\"prev\"", link_to(p)));
    }
    if let Some(n) = next {
        links.push(format!("{}; rel=\"next\"", link_to(n)));
    }
    links.push(format!("{}; rel=\"first\"", link_to(1)));
    links.push(format!("{}; rel=\"last\"", link_to(total_pages)));
    h.insert("link", HeaderValue::from_str(&links.join(", ")).unwrap());
    resp
}

pub(super) fn encode(s: &str) -> String {
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

pub(super) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl State {
    /// `UserBasic`: an author, an assignee, a reviewer. `public_email` is `""` for a user who has
    /// not published one (GitLab's default; its description types it as a string).
    pub(super) fn user_json(&self, u: &User) -> Value {
        json!({
            "id": u.id,
            "username": u.username,
            "public_email": "",
            "name": u.name,
            "state": "active",
            "locked": false,
            "avatar_url": format!("https://secure.gravatar.com/avatar/{:032x}?s=80&d=identicon", u.id),
            "web_url": format!("{}/{}", self.web_base(), u.username),
        })
    }

    pub(super) fn user_json_by_id(&self, id: u64) -> Value {
        self.user_json(&self.users[&id])
    }
}
