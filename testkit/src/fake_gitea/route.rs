//! A route of the fake: a method, a path pattern as Forgejo's API description spells it (under
//! `/api/v1`), the token scope category Forgejo checks for it, and its handler; and the request a
//! handler gets, with the pattern's parameters (percent-decoded) and the caller.

use axum::http::{Method, StatusCode, Uri};
use serde_json::{json, Value};

use super::model::RepoKey;
use super::reply::{api_error, Fail, Reply};
use super::State;

/// A route's handler: the state, and the request with the pattern's parameters.
pub(super) type Handler = fn(&mut State, &Req) -> Result<Reply, Fail>;

/// The scope category Forgejo's `tokenRequiresScopes` checks for a route group: `GET` needs
/// `read:<category>` (or `write:`), every other method `write:<category>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    Repository,
    Issue,
}

impl Category {
    pub(super) fn name(self) -> &'static str {
        match self {
            Category::Repository => "repository",
            Category::Issue => "issue",
        }
    }
}

pub(super) struct Route {
    pub(super) method: Method,
    /// Literal segments and `{name}` parameters, each matching one segment; a last `{name*}`
    /// matches the rest of the path (Forgejo's `/pulls/{base}/*`: a head branch with `/`).
    path: &'static str,
    pub(super) category: Category,
    pub(super) handler: Handler,
}

impl Route {
    pub(super) const fn new(
        method: Method,
        path: &'static str,
        category: Category,
        handler: Handler,
    ) -> Route {
        Route {
            method,
            path,
            category,
            handler,
        }
    }

    /// The parameters, if `segs` (the path after `/api/v1`, split on `/`) matches the pattern.
    pub(super) fn matches(&self, segs: &[&str]) -> Option<Params> {
        let pattern: Vec<&'static str> = self.path.trim_matches('/').split('/').collect();
        let mut params = Vec::new();
        for (i, p) in pattern.iter().enumerate() {
            let name = p.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
            match name {
                Some(rest) if rest.ends_with('*') && i == pattern.len() - 1 => {
                    if segs.len() <= i {
                        return None;
                    }
                    let tail: Vec<String> = segs[i..].iter().map(|s| percent_decode(s)).collect();
                    params.push((rest.trim_end_matches('*'), tail.join("/")));
                    return Some(Params(params));
                }
                Some(name) => params.push((name, percent_decode(segs.get(i)?))),
                None if segs.get(i) == Some(p) => {}
                None => return None,
            }
        }
        (segs.len() == pattern.len()).then_some(Params(params))
    }
}

/// A route's parameters, percent-decoded (`revertbot%2Fweb` is `revertbot/web`).
pub(super) struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The parameter `name`; panics if the route's pattern has none (a mistake in a table).
    pub(super) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("fake Gitea: the route has no {{{name}}} parameter"))
    }
}

/// Who is calling: a token's user, or nobody (no `Authorization` header).
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub(super) login: String,
}

/// A matched request, as a handler sees it.
pub(super) struct Req<'a> {
    pub(super) params: Params,
    pub(super) query: Vec<(String, String)>,
    pub(super) uri: &'a Uri,
    pub(super) body: &'a [u8],
    /// `None` for an anonymous request (only reads of public repositories get this far).
    pub(super) caller: Option<Caller>,
    /// The repository named by `{owner}/{repo}`, known to exist.
    pub(super) repo: RepoKey,
}

impl Req<'_> {
    /// The first value of a query parameter.
    pub(super) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter (`labels=1&labels=2`).
    pub(super) fn query_all(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The JSON body (`{}` when empty), or Forgejo's 422 for a body it cannot bind.
    pub(super) fn json(&self, st: &State) -> Result<Value, Fail> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(self.body)
            .map_err(|e| api_error(st, StatusCode::UNPROCESSABLE_ENTITY, &format!("[]: {e}")))
    }

    /// The caller's login; only called on routes Forgejo guards with `reqToken()`, which the
    /// dispatch has already enforced.
    pub(super) fn login(&self) -> &str {
        &self
            .caller
            .as_ref()
            .expect("dispatch enforces a token on writes")
            .login
    }

    /// `{index}` as a number (Forgejo parses it as int64; anything else is index 0: not found).
    pub(super) fn index(&self) -> u64 {
        self.params.get("index").parse().unwrap_or(0)
    }
}

pub(super) fn parse_query(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
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

pub(super) fn percent_encode(s: &str) -> String {
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
