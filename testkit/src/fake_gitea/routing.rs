//! Table routing and the checks Forgejo makes before a handler runs, in its order: the request is
//! logged, a queued fault answers it if one matches, then the route is matched under `/api/v1`,
//! the token is authenticated (401), its scopes checked (403), the repository looked up (404,
//! also for a private one the caller cannot see), and a write without a token refused (401,
//! `reqToken()`).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::model::{key, Fault};
use super::reply::{api_error, json_reply, not_found, Reply};
use super::route::{parse_query, Caller, Req, Route};
use super::{issues, pulls, repos, Request, State, API_PREFIX};

/// Every route the fake serves, one table per resource. The first match wins: `pulls` lists
/// `/pulls/{index}/...` before `/pulls/{base}/{head*}`. A request that matches none (wrong method
/// included) gets Forgejo's 404.
const ROUTES: [&[Route]; 3] = [repos::ROUTES, pulls::ROUTES, issues::ROUTES];

impl State {
    pub(super) fn dispatch(
        &mut self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string());
        let at = self.now();
        self.requests.push(Request {
            method: method.as_str().to_string(),
            path: path_and_query.clone(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            at,
        });

        if let Some(i) = self
            .faults
            .iter()
            .position(|f| f.method == method.as_str() && path_and_query.contains(&f.path_contains))
        {
            let swagger_url = self.swagger_url();
            let fault = &mut self.faults[i];
            fault.remaining -= 1;
            let reply = fault_reply(fault, &swagger_url);
            if self.faults[i].remaining == 0 {
                self.faults.remove(i);
            }
            return reply;
        }

        let Some(path) = uri.path().strip_prefix(API_PREFIX) else {
            return *not_found(self);
        };
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let Some((route, params)) = ROUTES
            .iter()
            .flat_map(|table| table.iter())
            .filter(|route| route.method == *method)
            .find_map(|route| route.matches(&segs).map(|params| (route, params)))
        else {
            return *not_found(self);
        };

        // Authentication: an unknown token is refused outright, whatever the route.
        let caller = match bearer(headers) {
            None => None,
            Some(token) => match self.tokens.get(&token) {
                Some(t) => Some((
                    Caller {
                        login: t.login.clone(),
                    },
                    t.scopes.clone(),
                )),
                None => {
                    return *api_error(
                        self,
                        StatusCode::UNAUTHORIZED,
                        "user does not exist [uid: 0, name: ]",
                    )
                }
            },
        };
        // Scopes (`tokenRequiresScopes`), before the repository is even looked up.
        if let Some((_, scopes)) = &caller {
            let category = route.category.name();
            let write = *method != Method::GET && *method != Method::HEAD;
            let required = if write {
                format!("write:{category}")
            } else {
                format!("read:{category}")
            };
            let allowed = scopes.iter().any(|s| {
                s == "all" || *s == format!("write:{category}") || (!write && *s == required)
            });
            if !allowed {
                return *api_error(
                    self,
                    StatusCode::FORBIDDEN,
                    &format!("token does not have at least one of required scope(s): [{required}]"),
                );
            }
        }
        let caller = caller.map(|(c, _)| c);
        // `repoAssignment()`: an unknown repository, or a private one for an anonymous caller.
        let k = key(params.get("owner"), params.get("repo"));
        match self.repos.get(&k) {
            Some(repo) if !(repo.private && caller.is_none()) => {}
            _ => return *not_found(self),
        }
        // `reqToken()` on every write.
        if caller.is_none() && *method != Method::GET {
            return *api_error(self, StatusCode::UNAUTHORIZED, "token is required");
        }
        let req = Req {
            params,
            query: parse_query(uri),
            uri,
            body,
            caller,
            repo: k,
        };
        (route.handler)(self, &req).unwrap_or_else(|e| *e)
    }
}

/// `Authorization: token X` or `Bearer X` (any case).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        .then(|| token.trim().to_string())
}

fn fault_reply(fault: &Fault, swagger_url: &str) -> Reply {
    let status = StatusCode::from_u16(fault.status).expect("valid status");
    let mut resp = match &fault.body {
        Some(body) => {
            let mut r = (status, body.clone()).into_response();
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("application/json;charset=utf-8"),
            );
            r
        }
        None => json_reply(
            status,
            &serde_json::json!({
                "message": status.canonical_reason().unwrap_or("Error"),
                "url": swagger_url,
            }),
        ),
    };
    let h = resp.headers_mut();
    for (k, v) in &fault.headers {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    resp
}

pub(super) async fn handle(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.dispatch(&method, &uri, &headers, &body)
}
