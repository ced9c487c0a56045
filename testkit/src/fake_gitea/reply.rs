//! What every resource answers with: Forgejo's error shapes (`APIError`, `APINotFound`), its
//! pagination (`page`, `limit`, `Link`, `X-Total-Count`), and the user shape several resources
//! embed.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::model::ts;
use super::route::{percent_encode, Req};
use super::State;

pub(super) type Reply = Response;
/// An error answer (boxed: a `Response` is large).
pub(super) type Fail = Box<Response>;

/// Forgejo's defaults: `[api] DEFAULT_PAGING_NUM` and `MAX_RESPONSE_ITEMS`.
pub const DEFAULT_PAGE_SIZE: usize = 30;
pub const MAX_PAGE_SIZE: usize = 50;

pub(super) fn json_reply(status: StatusCode, body: &Value) -> Reply {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    resp
}

/// A status with no body (`ctx.Status(...)`: merge's 200 and 201).
pub(super) fn empty(status: StatusCode) -> Reply {
    status.into_response()
}

/// `ctx.Error(status, title, message)`: `{"message": ..., "url": <swagger URL>}`.
pub(super) fn api_error(st: &State, status: StatusCode, message: &str) -> Fail {
    Box::new(json_reply(
        status,
        &json!({"message": message, "url": st.swagger_url()}),
    ))
}

/// `ctx.NotFound()`: `{"errors": null, "message": "The target couldn't be found.", "url": ...}`.
pub(super) fn not_found(st: &State) -> Fail {
    not_found_with(st, None)
}

pub(super) fn not_found_with(st: &State, errors: Option<Vec<String>>) -> Fail {
    Box::new(json_reply(
        StatusCode::NOT_FOUND,
        &json!({
            "errors": errors,
            "message": "The target couldn't be found.",
            "url": st.swagger_url(),
        }),
    ))
}

impl State {
    /// Forgejo's `User` (as `convert.ToUser` fills it for another user: no e-mail address but the
    /// no-reply one, `username` repeated for compatibility).
    pub(super) fn user_json(&self, login: &str) -> Value {
        let u = self.user(login);
        let html = format!("{}{}", self.app_url(), u.login);
        json!({
            "id": u.id,
            "login": u.login,
            "login_name": "",
            "source_id": 0,
            "full_name": "",
            "email": format!("{}@noreply.localhost", u.login.to_ascii_lowercase()),
            "avatar_url": format!("{}avatars/{:032x}", self.app_url(), u.id),
            "html_url": html,
            "language": "",
            "is_admin": false,
            "last_login": "0001-01-01T00:00:00Z",
            "created": ts(u.created),
            "restricted": false,
            "active": false,
            "prohibit_login": false,
            "location": "",
            "pronouns": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
            "username": u.login,
        })
    }
}

/// `page` (1-based, default 1) and `limit` (default 30, at most 50; 0 or less is the default).
pub(super) fn page_and_limit(req: &Req) -> (usize, usize) {
    let page = req
        .query("page")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1) as usize;
    let limit = req
        .query("limit")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| (l as usize).min(MAX_PAGE_SIZE))
        .unwrap_or(DEFAULT_PAGE_SIZE);
    (page, limit)
}

/// One page of `items` with Forgejo's `Link` (`next`, `last`, `first`, `prev`, joined by `,`,
/// absolute on the configured root URL) and `X-Total-Count` headers.
pub(super) fn paginated(st: &State, req: &Req, items: Vec<Value>) -> Reply {
    let total = items.len();
    let (page, limit) = page_and_limit(req);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .collect();
    let mut resp = json_reply(StatusCode::OK, &Value::Array(slice));
    let pages = total.div_ceil(limit).max(1);
    let link_to = |p: usize| {
        let mut q: Vec<(String, String)> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        q.push(("page".to_string(), p.to_string()));
        // Go's url.Values.Encode: sorted by key.
        q.sort_by(|a, b| a.0.cmp(&b.0));
        let qs: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        format!(
            "<{}{}?{}>",
            st.app_url(),
            req.uri.path().trim_start_matches('/'),
            qs.join("&")
        )
    };
    let mut links = Vec::new();
    if page < pages {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(pages)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    let h = resp.headers_mut();
    if !links.is_empty() {
        h.insert("link", HeaderValue::from_str(&links.join(",")).unwrap());
    }
    set_total_count(h, total);
    resp
}

pub(super) fn set_total_count(h: &mut HeaderMap, total: usize) {
    h.insert("x-total-count", HeaderValue::from(total));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("Link, X-Total-Count"),
    );
}
