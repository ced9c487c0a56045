//! Table routing: every route is a method, a path pattern as GitLab's OpenAPI description spells
//! it, and a handler. Each resource module exports its table (`ROUTES`); a request is matched
//! against them after it is logged and after the queued faults, so a fault answers even a route
//! the fake does not serve.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::model::Fault;
use super::reply::{message, Reply};
use super::route::{query_pairs, Req, Route};
use super::{labels, merge_requests, notes, projects, users, State};

/// Every route the fake serves, one table per resource; a request that matches none (wrong
/// method included) gets GitLab's `404 Not Found`.
const ROUTES: [&[Route]; 5] = [
    projects::ROUTES,
    merge_requests::ROUTES,
    notes::ROUTES,
    labels::ROUTES,
    users::ROUTES,
];

impl State {
    fn dispatch(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Reply {
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string());
        let at = self.now();
        self.requests.push(super::Request {
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
            body: String::from_utf8_lossy(body).into_owned(),
            at,
        });

        if let Some(i) = self
            .faults
            .iter()
            .position(|f| f.method == method.as_str() && path_and_query.contains(&f.path_contains))
        {
            let fault = &mut self.faults[i];
            fault.remaining = fault.remaining.saturating_sub(1);
            let reply = fault_reply(fault);
            if self.faults[i].remaining == 0 {
                self.faults.remove(i);
            }
            return reply;
        }

        let segs: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
        let Some((route, params)) = ROUTES
            .iter()
            .flat_map(|table| table.iter())
            .filter(|route| route.method == *method)
            .find_map(|route| route.matches(&segs).map(|params| (route, params)))
        else {
            return *message(StatusCode::NOT_FOUND, "404 Not Found");
        };
        let req = Req {
            method,
            params,
            query: query_pairs(uri.query()),
            headers,
            path: uri.path(),
            body,
        };
        (route.handler)(self, &req).unwrap_or_else(|e| *e)
    }
}

fn fault_reply(fault: &Fault) -> Reply {
    let status = StatusCode::from_u16(fault.status).expect("valid status");
    let body = fault.body.clone().unwrap_or_else(|| {
        json!({
            "message": format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error")),
        })
        .to_string()
    });
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
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
