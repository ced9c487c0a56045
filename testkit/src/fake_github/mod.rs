//! A stateful fake GitHub REST API, served in-process on loopback.
//!
//! It speaks GitHub's real routes, status codes and JSON shapes for the operations revertbot uses
//! (the same list as `scripts/trim-github-openapi.mjs`), so the real octocrab client can talk to it
//! over HTTP and tests can assert the final state: which pull requests exist, their bodies, labels,
//! comments. `tests/github_contract.rs` checks every shape against GitHub's OpenAPI description
//! through Prism.
//!
//! Behaviour copied from GitHub, because revertbot must cope with it:
//! - `GET /repos/{o}/{r}/pulls?head=...` filters only when `head` is `owner:branch`; a bare branch
//!   name is ignored by GitHub (every PR is listed), and so it is here.
//! - `POST /repos/{o}/{r}/pulls` answers 422 (`field: head` or `base`, `code: invalid`) when the
//!   branch is not in the repository's bare git repository, and 422 "No commits between BASE and
//!   HEAD" when the head has nothing beyond the base: a pull request exists only for a pushed
//!   branch, so a test cannot pass with the push skipped.
//! - `POST /repos/{o}/{r}/pulls` answers 422 "A pull request already exists for owner:branch." when
//!   an open PR has the same head and base; a closed one does not block a new PR.
//! - Bodies (PRs, comments) over 65,536 characters are refused with 422.
//! - A review cannot be requested from the PR's author (422).
//! - An installation token works only on its installation's repositories (404 elsewhere, as
//!   GitHub hides what a token cannot see) and only until `expires_at` (401 after).
//!
//! The server runs on its own thread with its own tokio runtime, so the API is synchronous and works
//! from plain `#[test]`s as well as from `#[tokio::test]`s.
//!
//! Layout: this file holds the handle ([`FakeGitHub`]), the shared `State` and the checks every
//! resource makes (who is calling, which repositories they may see). `routing` matches a request
//! against the route tables, after the request log and the queued faults; each resource (`repos`,
//! `pulls`, `issues`, `apps`) has its own `impl State` with its handlers, its JSON shapes and its
//! `ROUTES`. `model` holds the stored state, `reply` the answers and JSON pieces shared by several
//! resources.
#![allow(dead_code)]

mod apps;
mod graphql;
mod issues;
mod model;
mod pulls;
mod reply;
mod repos;
mod route;
mod routing;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::Router;

use crate::fake_server;
use chrono::{DateTime, Utc};
use serde_json::json;

pub use crate::bare_git::bare_repo_with_branches;
use model::{key, user_id, App, CommentState, Fault, Identity, IssuedToken, Repo, RepoKey};
use reply::{bad_credentials, error, not_found, Fail};

/// The login behind every personal access token the fake accepts.
pub const USER_LOGIN: &str = "revertbot-tests";
/// GitHub's limit on PR and comment bodies, in characters.
pub const MAX_BODY_CHARS: usize = 65_536;
const DOCS: &str = "https://docs.github.com/rest";

/// A pull request as the fake holds it (the test's view, not the wire format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    /// Empty when the PR has no body (GitHub's `null`).
    pub body: String,
    /// Branch name, without the `owner:` prefix.
    pub head: String,
    pub base: String,
    /// `"open"` or `"closed"`.
    pub state: String,
    pub merged: bool,
    /// The method GitHub's auto-merge was turned on with (`squash`...); `None`: off.
    pub auto_merge: Option<String>,
    pub draft: bool,
    pub maintainer_can_modify: bool,
    /// Login of the author (`revertbot-tests` for PATs, `<app-slug>[bot]` for App tokens).
    pub user: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
}

/// A request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query as sent, prefix included.
    pub path: String,
    /// When it arrived (before it was answered, faults included).
    pub at: DateTime<Utc>,
}

/// An issue comment (on a PR) as the fake holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Login of the author.
    pub user: String,
}

/// Handle to a running fake. Dropping it stops the server.
pub struct FakeGitHub {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    prefix: String,
    /// Stops the server when dropped.
    _server: fake_server::Running,
}

impl FakeGitHub {
    /// Serves `https://api.github.com`-style routes at `http://127.0.0.1:PORT`.
    pub fn start() -> FakeGitHub {
        Self::start_with_prefix("")
    }

    /// Serves the routes under a path prefix, as GitHub Enterprise Server does (`/api/v3`).
    pub fn start_with_prefix(prefix: &str) -> FakeGitHub {
        let prefix = prefix.trim_end_matches('/').to_string();
        assert!(
            prefix.is_empty() || prefix.starts_with('/'),
            "prefix must start with '/': {prefix:?}"
        );
        let bound = fake_server::bind("fake GitHub");
        let addr = bound.addr;
        let state = Arc::new(Mutex::new(State::new(addr, &prefix)));
        let app = Router::new()
            .fallback(routing::handle)
            .with_state(state.clone());
        let server = bound.serve("fake-github", app);
        FakeGitHub {
            state,
            addr,
            prefix,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT` plus the prefix, if any: what to give a client as its API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a repository with default branch `main`, whose branches live in the bare git
    /// repository `git_dir` (the one revertbot pushes to): a pull request is created only when
    /// its head and base exist there and the head has commits beyond the base, as on GitHub.
    pub fn add_repo(&self, owner: &str, name: &str, git_dir: &Path) {
        let mut st = self.lock();
        let id = st.next_id();
        let owner_id = user_id(owner);
        st.repos
            .entry(key(owner, name))
            .or_insert_with(|| Repo::new(id, owner, owner_id, name, git_dir.to_path_buf()));
    }

    pub fn set_default_branch(&self, owner: &str, name: &str, branch: &str) {
        self.lock().repo_mut(owner, name).default_branch = branch.to_string();
    }

    /// Accepts `token` as a personal access token (`Authorization: Bearer|token <t>`), for the user
    /// [`USER_LOGIN`], on every repository.
    pub fn allow_token(&self, token: &str) {
        self.lock().tokens.insert(token.to_string());
    }

    /// Registers a GitHub App (its RS256 public key, PEM) installed once, as `installation_id`, on
    /// `repos` (which must belong to one owner, the installation's account).
    pub fn add_app(
        &self,
        app_id: u64,
        public_key_pem: &str,
        installation_id: u64,
        repos: &[(&str, &str)],
    ) {
        let decoding_key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .expect("add_app: public key must be an RSA public key in PEM");
        let account = repos
            .first()
            .map(|(o, _)| o.to_string())
            .unwrap_or_else(|| "octo-org".to_string());
        let mut st = self.lock();
        let now = st.now();
        st.apps.insert(
            app_id,
            App {
                id: app_id,
                slug: format!("revertbot-test-app-{app_id}"),
                key: decoding_key,
                installation_id,
                account,
                repos: repos.iter().map(|(o, n)| key(o, n)).collect(),
                created_at: now,
            },
        );
    }

    /// Lifetime of installation tokens issued from now on (GitHub: one hour).
    pub fn set_installation_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    pub fn installation_tokens_issued(&self) -> usize {
        self.lock().tokens_issued
    }

    /// The tokens issued so far, oldest first.
    pub fn installation_tokens(&self) -> Vec<String> {
        self.lock().issued_order.clone()
    }

    /// Pull requests of a repository, by number.
    pub fn pulls(&self, owner: &str, name: &str) -> Vec<Pull> {
        let st = self.lock();
        let repo = st.repo(owner, name);
        repo.pulls.values().map(|p| p.view()).collect()
    }

    /// Comments on an issue or pull request, oldest first.
    pub fn comments(&self, owner: &str, name: &str, number: u64) -> Vec<Comment> {
        let st = self.lock();
        let repo = st.repo(owner, name);
        repo.comments
            .get(&number)
            .map(|cs| {
                cs.iter()
                    .map(|c| Comment {
                        id: c.id,
                        body: c.body.clone(),
                        created_at: c.created_at,
                        user: c.user.login.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Pre-populates a pull request (author [`USER_LOGIN`]); `state` is `"open"` or `"closed"`,
    /// `merged` implies closed. Returns its number. Its branches need not exist in the git
    /// repository (a merged pull request's branch is often deleted).
    #[allow(clippy::too_many_arguments)]
    pub fn add_pull(
        &self,
        owner: &str,
        name: &str,
        head: &str,
        base: &str,
        title: &str,
        state: &str,
        merged: bool,
    ) -> u64 {
        assert!(
            state == "open" || state == "closed",
            "state must be open or closed"
        );
        let mut st = self.lock();
        let user = Identity::user(USER_LOGIN);
        let pull = st.new_pull(owner, name, head, base, title, None, false, true, user);
        let now = st.now();
        let p = st
            .repo_mut(owner, name)
            .pulls
            .get_mut(&pull)
            .expect("just added");
        if state == "closed" || merged {
            p.close(now, merged);
        }
        pull
    }

    /// Closes a pull request, merged or not.
    pub fn close_pull(&self, owner: &str, name: &str, number: u64, merged: bool) {
        let mut st = self.lock();
        let now = st.now();
        st.repo_mut(owner, name)
            .pulls
            .get_mut(&number)
            .unwrap_or_else(|| panic!("no pull #{number} in {owner}/{name}"))
            .close(now, merged);
    }

    /// Sets the repository's "Allow auto-merge" (off until set).
    pub fn set_allow_auto_merge(&self, owner: &str, name: &str, allow: bool) {
        self.lock().repo_mut(owner, name).allow_auto_merge = allow;
    }

    /// The text of every GraphQL query received, in order.
    pub fn graphql_queries(&self) -> Vec<String> {
        self.lock().graphql_queries.clone()
    }

    /// Forgets every pull request of a repository (and their comments), as if none had been
    /// opened: a benchmark's next round starts from nothing.
    pub fn forget_pulls(&self, owner: &str, name: &str) {
        let mut st = self.lock();
        let repo = st.repo_mut(owner, name);
        repo.pulls.clear();
        repo.comments.clear();
    }

    /// Pre-populates a comment (author [`USER_LOGIN`]) with a chosen creation time. Returns its id.
    pub fn add_comment_at(
        &self,
        owner: &str,
        name: &str,
        number: u64,
        body: &str,
        created_at: DateTime<Utc>,
    ) -> u64 {
        let mut st = self.lock();
        let id = st.next_id();
        let repo = st.repo_mut(owner, name);
        assert!(
            repo.pulls.contains_key(&number),
            "no pull #{number} in {owner}/{name}"
        );
        repo.comments.entry(number).or_default().push(CommentState {
            id,
            body: body.to_string(),
            created_at,
            updated_at: created_at,
            user: Identity::user(USER_LOGIN),
        });
        id
    }

    /// Queues a one-shot fault: the next request whose method is `method` (case-insensitive) and
    /// whose path+query contains `path_contains` is answered with `status`, `headers` and `body`
    /// (default: GitHub's JSON error shape with the status' reason) and does not reach the routes.
    /// Faults are matched in the order queued.
    pub fn fail_next(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) {
        self.lock().faults.push_back(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            status,
            headers,
            body,
        });
    }

    /// Queues GitHub's primary rate-limit answer (403, `x-ratelimit-remaining: 0`,
    /// `x-ratelimit-reset` = now + `reset_in`, `{"message":"API rate limit exceeded for ..."}`)
    /// for the next matching request. Returns the reset time it announced (epoch seconds).
    pub fn fail_next_rate_limited(
        &self,
        method: &str,
        path_contains: &str,
        reset_in: Duration,
    ) -> i64 {
        let reset = Utc::now().timestamp() + reset_in.as_secs() as i64;
        let headers = vec![
            ("x-ratelimit-limit".to_string(), "5000".to_string()),
            ("x-ratelimit-remaining".to_string(), "0".to_string()),
            ("x-ratelimit-used".to_string(), "5000".to_string()),
            ("x-ratelimit-reset".to_string(), reset.to_string()),
            ("x-ratelimit-resource".to_string(), "core".to_string()),
        ];
        let body = json!({
            "message": format!(
                "API rate limit exceeded for user ID {}. If you reach out to GitHub Support for help, please include the request ID 0400:3F2A:1C0B5E1:1D3A7C2:6560A1B2 and timestamp {} UTC.",
                user_id(USER_LOGIN),
                Utc::now().format("%Y-%m-%d %H:%M:%S")
            ),
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            "status": "403",
        });
        self.fail_next(method, path_contains, 403, headers, Some(body.to_string()));
        reset
    }

    /// Queues GitHub's secondary rate-limit answer (403 with `retry-after`).
    pub fn fail_next_secondary_rate_limited(
        &self,
        method: &str,
        path_contains: &str,
        retry_after_secs: u64,
    ) {
        let body = json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0400:3F2A:1C0B5E1:1D3A7C2:6560A1B2.",
            "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            "status": "403",
        });
        self.fail_next(
            method,
            path_contains,
            403,
            vec![("retry-after".to_string(), retry_after_secs.to_string())],
            Some(body.to_string()),
        );
    }

    /// The next `POST .../pulls` (create) creates the PR but answers 422 "A pull request already
    /// exists", as GitHub does when a first attempt's response was lost and the client retried.
    pub fn create_pull_then_422(&self) {
        self.lock().create_pull_then_422 = true;
    }

    /// Every request received, in order: (method, path+query as sent, prefix included).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.lock()
            .requests
            .iter()
            .map(|r| (r.method.clone(), r.path.clone()))
            .collect()
    }

    /// Every request received, in order, with the time it arrived.
    pub fn timed_requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// State

struct State {
    addr: SocketAddr,
    prefix: String,
    repos: BTreeMap<RepoKey, Repo>,
    tokens: HashSet<String>,
    apps: BTreeMap<u64, App>,
    installation_tokens: HashMap<String, IssuedToken>,
    issued_order: Vec<String>,
    token_lifetime: Duration,
    tokens_issued: usize,
    faults: VecDeque<Fault>,
    create_pull_then_422: bool,
    requests: Vec<Request>,
    /// The text of every GraphQL query received, in order.
    graphql_queries: Vec<String>,
    next_id: u64,
}

/// Who is calling.
enum Caller {
    /// A PAT or an installation token (then `app` is set).
    Token { user: Identity, app: Option<u64> },
    /// An App, by its JWT.
    App(u64),
}

impl State {
    fn new(addr: SocketAddr, prefix: &str) -> State {
        State {
            addr,
            prefix: prefix.to_string(),
            repos: BTreeMap::new(),
            tokens: HashSet::new(),
            apps: BTreeMap::new(),
            installation_tokens: HashMap::new(),
            issued_order: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            tokens_issued: 0,
            faults: VecDeque::new(),
            create_pull_then_422: false,
            requests: Vec::new(),
            graphql_queries: Vec::new(),
            next_id: 4_200_000_000,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1 + self.next_id % 7;
        self.next_id
    }

    fn api(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    fn repo(&self, owner: &str, name: &str) -> &Repo {
        self.repos
            .get(&key(owner, name))
            .unwrap_or_else(|| panic!("fake GitHub: no repository {owner}/{name} (add_repo first)"))
    }

    fn repo_mut(&mut self, owner: &str, name: &str) -> &mut Repo {
        self.repos
            .get_mut(&key(owner, name))
            .unwrap_or_else(|| panic!("fake GitHub: no repository {owner}/{name} (add_repo first)"))
    }

    // -- who is calling ------------------------------------------------------------------------

    fn bearer(headers: &HeaderMap) -> Option<String> {
        let v = headers.get("authorization")?.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            Some(token.trim().to_string())
        } else {
            None
        }
    }

    /// A PAT or an installation token.
    fn token_caller(&self, headers: &HeaderMap) -> Result<Caller, Fail> {
        let Some(token) = Self::bearer(headers) else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Requires authentication",
                DOCS,
            ));
        };
        if self.tokens.contains(&token) {
            return Ok(Caller::Token {
                user: Identity::user(USER_LOGIN),
                app: None,
            });
        }
        if let Some(t) = self.installation_tokens.get(&token) {
            if t.expires_at > self.now() {
                let app = &self.apps[&t.app_id];
                return Ok(Caller::Token {
                    user: Identity::bot(&app.slug),
                    app: Some(app.id),
                });
            }
        }
        Err(bad_credentials())
    }

    /// The repository, if it exists and the caller may see it.
    fn visible_repo(&self, caller: &Caller, owner: &str, name: &str) -> Result<RepoKey, Fail> {
        let k = key(owner, name);
        if !self.repos.contains_key(&k) {
            return Err(not_found());
        }
        match caller {
            Caller::Token { app: None, .. } => Ok(k),
            Caller::Token { app: Some(id), .. } | Caller::App(id) => {
                if self.apps[id].repos.contains(&k) {
                    Ok(k)
                } else {
                    Err(not_found())
                }
            }
        }
    }

    fn caller_user(caller: &Caller) -> Identity {
        match caller {
            Caller::Token { user, .. } => user.clone(),
            Caller::App(_) => Identity::user(USER_LOGIN),
        }
    }
}
