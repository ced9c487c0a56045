//! Table routing: every route is a method, a path pattern as GitHub's OpenAPI description spells it
//! (`/repos/{owner}/{repo}/pulls/{pull_number}`) and a handler. Each resource module exports its
//! table (`ROUTES`); a request is matched against them after it is logged and after the queued
//! faults, so a fault answers even a route the fake does not serve.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::model::Fault;
use super::reply::{add_github_headers, not_found, parse_query, Reply};
use super::route::{Req, Route};
use super::{apps, graphql, issues, pulls, repos, State, DOCS};

/// Every route the fake serves, one table per resource. Paths do not overlap, so the order does not
/// matter; a request that matches none (wrong method included) gets GitHub's 404.
const ROUTES: [&[Route]; 5] = [
    repos::ROUTES,
    pulls::ROUTES,
    issues::ROUTES,
    apps::ROUTES,
    graphql::ROUTES,
];

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
        self.requests.push(super::Request {
            method: method.as_str().to_string(),
            path: path_and_query.clone(),
            at,
        });

        if let Some(i) = self
            .faults
            .iter()
            .position(|f| f.method == method.as_str() && path_and_query.contains(&f.path_contains))
        {
            let fault = self.faults.remove(i).expect("position is valid");
            return self.fault_reply(fault);
        }

        let Some(path) = uri.path().strip_prefix(self.prefix.as_str()) else {
            return *not_found();
        };
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let Some((route, params)) = ROUTES
            .iter()
            .flat_map(|table| table.iter())
            .filter(|route| route.method == *method)
            .find_map(|route| route.matches(&segs).map(|params| (route, params)))
        else {
            return *not_found();
        };
        let req = Req {
            params,
            query: parse_query(uri),
            headers,
            uri,
            body,
        };
        (route.handler)(self, &req).unwrap_or_else(|e| *e)
    }

    fn fault_reply(&self, fault: Fault) -> Reply {
        let status = StatusCode::from_u16(fault.status).expect("valid status");
        let body = fault.body.unwrap_or_else(|| {
            json!({
                "message": status.canonical_reason().unwrap_or("Error"),
                "documentation_url": DOCS,
                "status": status.as_str(),
            })
            .to_string()
        });
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        add_github_headers(h);
        for (k, v) in fault.headers {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(&v).expect("header value"),
            );
        }
        resp
    }
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
