//! A stateful fake Gitea/Forgejo REST API (v1), served in-process on loopback under `/api/v1`.
//!
//! It speaks Forgejo's routes, status codes and JSON shapes for the operations revertbot's
//! Gitea/Forgejo forge uses (the list in `scripts/trim-forgejo-openapi.mjs`), so a client can talk
//! to it over HTTP and a test can assert the final state: which pull requests exist, their labels,
//! reviewers, comments, whether they were merged. `tests/gitea_contract.rs` checks the shapes
//! against Forgejo's own API description (`testkit/openapi/`) through Prism.
//!
//! Behaviour copied from Forgejo (read from its source), because revertbot must cope with it:
//! - Issues and pull requests share one index sequence per repository: after issue #1, the first
//!   pull request is #2 ([`FakeGitea::add_issue`]).
//! - `POST /pulls` answers 404 when the head or base branch is not in the repository's bare git
//!   repository (or the head names another owner: the fake has no forks), 422 when head and base
//!   are the same, and 409 `pull request already exists for these targets [id: .., issue_id: N,
//!   ...]` while an unmerged open pull request has the same head and base (a closed one does not
//!   block). `labels` are label ids; ids that are not the repository's are dropped silently.
//! - `GET /pulls/{base}/{head}` returns the *first* pull request ever opened for the pair,
//!   whatever its state (Forgejo's query has no state filter and no order): after a closed one,
//!   it is the closed one, not the open one. The head may contain `/` (Forgejo's route is
//!   `/{base}/*`).
//! - `PATCH /pulls/{index}` answers 201 (not 200); `labels` replaces the set; `state` closes or
//!   reopens; a merged pull request's state cannot change (412).
//! - A title starting with `WIP:` or `[WIP]` makes the pull request a draft (`draft: true`), and
//!   merging it answers 405.
//! - `POST /pulls/{index}/merge` answers 200 with no body; with `merge_when_checks_succeed` and
//!   pending checks ([`FakeGitea::set_checks`]) it schedules the merge and answers 201 (a status
//!   Forgejo's description does not declare), 409 if one is already scheduled; checks turning
//!   green merge it. Merging a merged one: 405; a closed one: 404. The git repository is not
//!   touched.
//! - `POST /pulls/{index}/requested_reviewers` answers 201 with the review requests it created
//!   (none for a reviewer already requested), 422 for the pull request's poster.
//! - Fields Forgejo serialises from Go pointers are `null` when unset: `merged_at`, `closed_at`,
//!   `merged_by`, `merge_commit_sha`, `milestone`, `assignee`, `assignees` (null when empty),
//!   `due_date`; a 404's `errors`.
//! - Tokens: `Authorization: token X` or `Bearer X`. An unknown token: 401 `user does not exist
//!   [uid: 0, name: ]`; no token on a write: 401 `token is required`; a token without the scope:
//!   403 `token does not have at least one of required scope(s): [write:repository]` (pull
//!   requests and the repository are `repository`, comments and labels `issue`); an unknown
//!   repository, or a private one without a token: 404.
//! - Lists: `page` (1-based) and `limit` (default 30, at most 50), `Link` (`next`, `last`,
//!   `first`, `prev`) and `X-Total-Count`; issue comments are not paginated (`X-Total-Count`
//!   only), as in Forgejo.
//!
//! The server runs on its own thread with its own tokio runtime, so the API is synchronous and
//! works from plain `#[test]`s as well as from `#[tokio::test]`s.
//!
//! Layout: this file holds the handle ([`FakeGitea`]) and the shared `State`; `routing` runs
//! Forgejo's checks and dispatches to the route tables; each resource (`repos`, `pulls`,
//! `issues`) has its own `impl State` with its handlers, its JSON shapes and its `ROUTES`.
//! `model` holds the stored state, `reply` the error shapes, pagination and the user shape.

mod issues;
mod model;
mod pulls;
mod reply;
mod repos;
mod route;
mod routing;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;

use crate::fake_server;
use chrono::{DateTime, Utc};
use serde_json::json;

pub use model::Checks;
use model::{key, CommentState, Fault, Issue, LabelState, Repo, RepoKey, TokenState, UserState};
pub use reply::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The login behind [`FakeGitea::allow_token`]'s tokens.
pub const USER_LOGIN: &str = "revertbot-tests";
/// Where the API lives, as on every Gitea and Forgejo.
pub const API_PREFIX: &str = "/api/v1";

/// A pull request as the fake holds it (the test's view, not the wire format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    /// Its index (shared with issues).
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    /// `"open"` or `"closed"`.
    pub state: String,
    pub merged: bool,
    /// `WIP:` / `[WIP]` title prefix.
    pub draft: bool,
    /// Login of the poster.
    pub user: String,
    /// Label names, in the order added.
    pub labels: Vec<String>,
    pub label_ids: Vec<u64>,
    pub assignees: Vec<String>,
    pub requested_reviewers: Vec<String>,
    /// Login of who merged it.
    pub merged_by: Option<String>,
    /// The merge style of a scheduled auto-merge, while it waits for checks.
    pub auto_merge: Option<String>,
}

/// A comment on an issue or pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub user: String,
    pub created_at: DateTime<Utc>,
}

/// A repository label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub id: u64,
    pub name: String,
    /// Six hex digits, no `#`.
    pub color: String,
    pub description: String,
}

/// A request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query as sent (`/api/v1/...`).
    pub path: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When it arrived (before it was answered, faults included).
    pub at: DateTime<Utc>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Handle to a running fake. Dropping it stops the server.
pub struct FakeGitea {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    /// Stops the server when dropped.
    _server: fake_server::Running,
}

impl FakeGitea {
    /// Serves the API at `http://127.0.0.1:PORT/api/v1`, with that address as its root URL.
    pub fn start() -> FakeGitea {
        Self::start_with_root_url(None)
    }

    /// Like [`Self::start`], but the URLs in answers (`html_url`, `url`, `Link`, an error's
    /// `url`) start with `root_url` (Forgejo's `ROOT_URL`: the public address of an instance behind
    /// a proxy, e.g. `https://forgejo.example.com/`) instead of the listening address. Forgejo's
    /// description declares those fields `format: url`, which Prism checks as a public URL (no
    /// loopback address): the contract test uses this.
    pub fn start_with_root_url(root_url: Option<&str>) -> FakeGitea {
        let bound = fake_server::bind("fake Gitea");
        let addr = bound.addr;
        let root = match root_url {
            Some(r) => format!("{}/", r.trim_end_matches('/')),
            None => format!("http://{addr}/"),
        };
        let state = Arc::new(Mutex::new(State::new(root)));
        let app = Router::new()
            .fallback(routing::handle)
            .with_state(state.clone());
        let server = bound.serve("fake-gitea", app);
        FakeGitea {
            state,
            addr,
            _server: server,
        }
    }

    /// The instance's root URL (Forgejo's `ROOT_URL`, where `html_url`s and `Link`s point),
    /// without a trailing slash: `http://127.0.0.1:PORT` unless started with another.
    pub fn root_url(&self) -> String {
        self.lock().root.trim_end_matches('/').to_string()
    }

    /// `http://127.0.0.1:PORT`: where it listens (Prism's upstream; the API is under /api/v1).
    pub fn listen_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v1`: what to give a client as its API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}{API_PREFIX}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a public repository with default branch `main`, whose branches live in the bare git
    /// repository `git_dir`: a pull request is created only when its head and base exist there.
    pub fn add_repo(&self, owner: &str, name: &str, git_dir: &Path) {
        let mut st = self.lock();
        st.ensure_user(owner);
        let id = st.next_id("repo");
        let now = st.now();
        st.repos.entry(key(owner, name)).or_insert_with(|| Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            default_branch: "main".to_string(),
            private: false,
            git_dir: git_dir.to_path_buf(),
            created_at: now - chrono::Duration::days(400),
            issues: BTreeMap::new(),
            next_index: 1,
            labels: BTreeMap::new(),
        });
    }

    pub fn set_default_branch(&self, owner: &str, name: &str, branch: &str) {
        self.lock().repo_mut(owner, name).default_branch = branch.to_string();
    }

    /// A private repository is invisible (404) to anonymous requests.
    pub fn set_private(&self, owner: &str, name: &str, private: bool) {
        self.lock().repo_mut(owner, name).private = private;
    }

    /// Registers a user (a reviewer, an assignee). Owners and token users are registered on the
    /// way; anyone else is unknown to the fake, as to Forgejo.
    pub fn add_user(&self, login: &str) {
        self.lock().ensure_user(login);
    }

    /// Accepts `token` for [`USER_LOGIN`] with scope `all`.
    pub fn allow_token(&self, token: &str) {
        self.allow_token_as(token, USER_LOGIN, &["all"]);
    }

    /// Accepts `token` for `login` with the given scopes (`read:repository`, `write:issue`...).
    pub fn allow_token_as(&self, token: &str, login: &str, scopes: &[&str]) {
        let mut st = self.lock();
        st.ensure_user(login);
        st.tokens.insert(
            token.to_string(),
            TokenState {
                login: login.to_string(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        );
    }

    /// Adds a repository label; `color` with or without `#`. Returns its id.
    pub fn add_label(&self, owner: &str, name: &str, label: &str, color: &str) -> u64 {
        let mut st = self.lock();
        let id = st.next_id("label");
        st.repo_mut(owner, name).labels.insert(
            id,
            LabelState {
                id,
                name: label.to_string(),
                color: color.trim_start_matches('#').to_ascii_lowercase(),
                description: String::new(),
                exclusive: false,
            },
        );
        id
    }

    /// Opens an issue (author [`USER_LOGIN`]): it takes the next index, as Forgejo numbers issues
    /// and pull requests from one sequence. Returns its index.
    pub fn add_issue(&self, owner: &str, name: &str, title: &str) -> u64 {
        let mut st = self.lock();
        st.new_issue(owner, name, title, "", USER_LOGIN)
    }

    /// Pre-populates a pull request (author [`USER_LOGIN`]); `state` is `"open"` or `"closed"`,
    /// `merged` implies closed. Its branches need not exist in the git repository. Returns its
    /// index.
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
        let n = st.new_pull(owner, name, head, base, title, "", USER_LOGIN);
        if state == "closed" || merged {
            st.close_pull(&key(owner, name), n, merged.then_some(USER_LOGIN));
        }
        n
    }

    /// Closes a pull request as a person would in the web UI, merged (by [`USER_LOGIN`]) or not.
    pub fn close_pull(&self, owner: &str, name: &str, number: u64, merged: bool) {
        let mut st = self.lock();
        st.repo(owner, name);
        st.close_pull(&key(owner, name), number, merged.then_some(USER_LOGIN));
    }

    /// Sets the combined commit status of a pull request's head. `Success` merges a pull request
    /// whose merge was scheduled with `merge_when_checks_succeed`, as Forgejo's auto-merge does.
    pub fn set_checks(&self, owner: &str, name: &str, number: u64, checks: Checks) {
        let mut st = self.lock();
        let k = key(owner, name);
        st.repo(owner, name);
        let scheduled = {
            let pull = st.pull_mut(&k, number);
            pull.checks = checks;
            checks == Checks::Success && pull.auto_merge.is_some()
        };
        if scheduled {
            st.pull_mut(&k, number).auto_merge = None;
            st.close_pull(&k, number, Some(USER_LOGIN));
        }
    }

    /// Pull requests of a repository, by index.
    pub fn pulls(&self, owner: &str, name: &str) -> Vec<Pull> {
        let st = self.lock();
        let repo = st.repo(owner, name);
        repo.issues
            .values()
            .filter(|i| i.pull.is_some())
            .map(|i| st.pull_view(repo, i))
            .collect()
    }

    /// Comments on an issue or pull request, oldest first.
    pub fn comments(&self, owner: &str, name: &str, index: u64) -> Vec<Comment> {
        let st = self.lock();
        st.repo(owner, name)
            .issues
            .get(&index)
            .map(|i| {
                i.comments
                    .iter()
                    .map(|c| Comment {
                        id: c.id,
                        body: c.body.clone(),
                        user: c.poster.clone(),
                        created_at: c.created_at,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Labels of a repository, by id.
    pub fn labels(&self, owner: &str, name: &str) -> Vec<Label> {
        let st = self.lock();
        st.repo(owner, name)
            .labels
            .values()
            .map(|l| Label {
                id: l.id,
                name: l.name.clone(),
                color: l.color.clone(),
                description: l.description.clone(),
            })
            .collect()
    }

    /// Pre-populates a comment (author [`USER_LOGIN`]) with a chosen creation time. Returns its
    /// id.
    pub fn add_comment_at(
        &self,
        owner: &str,
        name: &str,
        index: u64,
        body: &str,
        created_at: DateTime<Utc>,
    ) -> u64 {
        let mut st = self.lock();
        let id = st.next_id("comment");
        let issue = st
            .repo_mut(owner, name)
            .issues
            .get_mut(&index)
            .unwrap_or_else(|| panic!("no issue #{index} in {owner}/{name}"));
        issue.comments.push(CommentState {
            id,
            body: body.to_string(),
            poster: USER_LOGIN.to_string(),
            created_at,
            updated_at: created_at,
        });
        id
    }

    /// Queues a fault: the next `times` requests whose method is `method` (case-insensitive) and
    /// whose path+query contains `path_contains` are answered with `status`, `headers` and `body`
    /// (default: Forgejo's `{"message", "url"}` with the status' reason) and do not reach the
    /// routes. Faults are matched in the order queued.
    pub fn fail_next_n(
        &self,
        method: &str,
        path_contains: &str,
        times: usize,
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) {
        assert!(times > 0, "fail_next_n: times must be at least 1");
        self.lock().faults.push_back(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            remaining: times,
            status,
            headers,
            body,
        });
    }

    /// [`Self::fail_next_n`] once.
    pub fn fail_next(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) {
        self.fail_next_n(method, path_contains, 1, status, headers, body);
    }

    /// Forgejo's rate limiter answer (429, `Retry-After`) for the next `times` matching requests.
    pub fn fail_next_rate_limited(
        &self,
        method: &str,
        path_contains: &str,
        times: usize,
        retry_after_secs: u64,
    ) {
        let body = json!({"message": "Too Many Requests", "url": self.lock().swagger_url()});
        self.fail_next_n(
            method,
            path_contains,
            times,
            429,
            vec![("retry-after".to_string(), retry_after_secs.to_string())],
            Some(body.to_string()),
        );
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// State

struct State {
    /// `ROOT_URL`, with its trailing slash.
    root: String,
    /// By lower-cased login.
    users: BTreeMap<String, UserState>,
    tokens: HashMap<String, TokenState>,
    repos: BTreeMap<RepoKey, Repo>,
    faults: VecDeque<Fault>,
    requests: Vec<Request>,
    /// One sequence per table, as database ids.
    ids: HashMap<&'static str, u64>,
}

impl State {
    fn new(root: String) -> State {
        State {
            root,
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            repos: BTreeMap::new(),
            faults: VecDeque::new(),
            requests: Vec::new(),
            ids: HashMap::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn next_id(&mut self, table: &'static str) -> u64 {
        let id = self.ids.entry(table).or_insert(0);
        *id += 1;
        *id
    }

    /// `ROOT_URL`, with its trailing slash.
    fn app_url(&self) -> String {
        self.root.clone()
    }

    fn api(&self) -> String {
        format!("{}{}", self.root, API_PREFIX.trim_start_matches('/'))
    }

    /// `setting.API.SwaggerURL`: the `url` of every error.
    fn swagger_url(&self) -> String {
        format!("{}api/swagger", self.app_url())
    }

    fn ensure_user(&mut self, login: &str) {
        if !self.users.contains_key(&login.to_ascii_lowercase()) {
            let id = self.next_id("user");
            let created = self.now() - chrono::Duration::days(500);
            self.users.insert(
                login.to_ascii_lowercase(),
                UserState {
                    id,
                    login: login.to_string(),
                    created,
                },
            );
        }
    }

    fn find_user(&self, login: &str) -> Option<&UserState> {
        self.users.get(&login.to_ascii_lowercase())
    }

    fn user(&self, login: &str) -> &UserState {
        self.find_user(login)
            .unwrap_or_else(|| panic!("fake Gitea: no user {login}"))
    }

    fn repo(&self, owner: &str, name: &str) -> &Repo {
        self.repos
            .get(&key(owner, name))
            .unwrap_or_else(|| panic!("fake Gitea: no repository {owner}/{name} (add_repo first)"))
    }

    fn repo_mut(&mut self, owner: &str, name: &str) -> &mut Repo {
        self.repos
            .get_mut(&key(owner, name))
            .unwrap_or_else(|| panic!("fake Gitea: no repository {owner}/{name} (add_repo first)"))
    }

    /// A new issue with the repository's next index.
    fn new_issue(&mut self, owner: &str, name: &str, title: &str, body: &str, poster: &str) -> u64 {
        let id = self.next_id("issue");
        let now = self.now();
        let repo = self.repo_mut(owner, name);
        let index = repo.next_index;
        repo.next_index += 1;
        repo.issues.insert(
            index,
            Issue {
                id,
                index,
                title: title.to_string(),
                body: body.to_string(),
                poster: poster.to_string(),
                labels: Vec::new(),
                assignees: Vec::new(),
                closed: false,
                created_at: now,
                updated_at: now,
                closed_at: None,
                comments: Vec::new(),
                pull: None,
            },
        );
        index
    }
}
