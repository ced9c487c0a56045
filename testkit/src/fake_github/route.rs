//! A route of the fake: a method, a path pattern as GitHub's OpenAPI description spells it
//! (`/repos/{owner}/{repo}/pulls/{pull_number}`), and its handler; and the request a handler
//! gets, with the pattern's parameters. Resource modules build their tables from these; the
//! dispatch (`routing`) matches requests against them.

use crate::fake_server::Params;
use std::collections::HashMap;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};

use super::reply::{error, Fail, Reply};
use super::{State, DOCS};

/// A route's handler: the state, and the request with the pattern's parameters.
pub(super) type Handler = fn(&mut State, &Req) -> Result<Reply, Fail>;

pub(super) struct Route {
    pub(super) method: Method,
    /// Literal segments and `{name}` parameters, each parameter matching exactly one segment.
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

    /// The parameters, if `segs` (the request path, split on `/`) matches the pattern.
    pub(super) fn matches<'a>(&self, segs: &[&'a str]) -> Option<Params<'a>> {
        Params::of(self.path, segs)
    }
}

/// A matched request, as a handler sees it.
pub(super) struct Req<'a> {
    pub(super) params: Params<'a>,
    pub(super) query: HashMap<String, String>,
    pub(super) headers: &'a HeaderMap,
    /// For the pagination links.
    pub(super) uri: &'a Uri,
    pub(super) body: &'a [u8],
}

impl Req<'_> {
    /// The JSON body (`{}` when empty), or GitHub's 400. Handlers that take a body call this first,
    /// before checking the caller, so a malformed body is a 400 whatever the credentials.
    pub(super) fn json(&self) -> Result<Value, Fail> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(self.body).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "Problems parsing JSON",
                &format!("{DOCS}/guides/getting-started-with-the-rest-api"),
            )
        })
    }
}
