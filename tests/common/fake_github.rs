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
//! - `POST /repos/{o}/{r}/pulls` answers 422 "A pull request already exists for owner:branch." when
//!   an open PR has the same head and base; a closed one does not block a new PR.
//! - Bodies (PRs, comments) over 65,536 characters are refused with 422.
//! - A review cannot be requested from the PR's author (422).
//! - An installation token works only on its installation's repositories (404 elsewhere, as
//!   GitHub hides what a token cannot see) and only until `expires_at` (401 after).
//!
//! The server runs on its own thread with its own tokio runtime, so the API is synchronous and works
//! from plain `#[test]`s as well as from `#[tokio::test]`s.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

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
    pub draft: bool,
    pub maintainer_can_modify: bool,
    /// Login of the author (`revertbot-tests` for PATs, `<app-slug>[bot]` for App tokens).
    pub user: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
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
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
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
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake GitHub");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::new(addr, &prefix)));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(state.clone());
        std::thread::Builder::new()
            .name(format!("fake-github-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake GitHub runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })
            .expect("spawn fake GitHub thread");
        FakeGitHub {
            state,
            addr,
            prefix,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT` plus the prefix, if any: what to give a client as its API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a repository with default branch `main`.
    pub fn add_repo(&self, owner: &str, name: &str) {
        let mut st = self.lock();
        let id = st.next_id();
        let owner_id = user_id(owner);
        st.repos
            .entry(key(owner, name))
            .or_insert_with(|| Repo::new(id, owner, owner_id, name));
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
    /// `merged` implies closed. Returns its number.
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
        self.lock().requests.clone()
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State

type RepoKey = (String, String);

fn key(owner: &str, name: &str) -> RepoKey {
    (owner.to_ascii_lowercase(), name.to_ascii_lowercase())
}

/// A stable, GitHub-looking numeric id for a login or slug.
fn user_id(login: &str) -> u64 {
    // FNV-1a: stable across runs, unlike std's RandomState.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in login.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    1_000_000 + h % 90_000_000
}

fn node_id(prefix: &str, id: u64) -> String {
    // GitHub's node ids are base64 of a msgpack blob; this keeps the look (prefix + base64-ish).
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = format!("{prefix}_kwDO");
    let mut v = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ id;
    for _ in 0..8 {
        s.push(ALPHABET[(v % 64) as usize] as char);
        v /= 64;
    }
    s
}

fn fake_sha(seed: &str) -> String {
    let mut out = String::with_capacity(40);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    while out.len() < 40 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        out.push_str(&format!("{:016x}", h));
    }
    out.truncate(40);
    out
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Clone, Debug)]
struct Identity {
    login: String,
    id: u64,
    /// "User", "Organization" or "Bot".
    kind: &'static str,
    /// For bots: the App's slug (html_url is https://github.com/apps/<slug>).
    app_slug: Option<String>,
}

impl Identity {
    fn user(login: &str) -> Identity {
        Identity {
            login: login.to_string(),
            id: user_id(login),
            kind: "User",
            app_slug: None,
        }
    }
    fn org(login: &str) -> Identity {
        Identity {
            kind: "Organization",
            ..Identity::user(login)
        }
    }
    fn bot(slug: &str) -> Identity {
        let login = format!("{slug}[bot]");
        Identity {
            id: user_id(&login),
            login,
            kind: "Bot",
            app_slug: Some(slug.to_string()),
        }
    }
}

struct Repo {
    id: u64,
    owner: String,
    owner_id: u64,
    name: String,
    default_branch: String,
    created_at: DateTime<Utc>,
    pulls: BTreeMap<u64, PullState>,
    next_number: u64,
    labels: BTreeMap<String, LabelState>,
    comments: BTreeMap<u64, Vec<CommentState>>,
}

impl Repo {
    fn new(id: u64, owner: &str, owner_id: u64, name: &str) -> Repo {
        Repo {
            id,
            owner: owner.to_string(),
            owner_id,
            name: name.to_string(),
            default_branch: "main".to_string(),
            created_at: Utc::now() - chrono::Duration::days(400),
            pulls: BTreeMap::new(),
            next_number: 1,
            labels: BTreeMap::new(),
            comments: BTreeMap::new(),
        }
    }
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

struct PullState {
    id: u64,
    issue_id: u64,
    number: u64,
    title: String,
    body: Option<String>,
    head_owner: String,
    head: String,
    base: String,
    head_sha: String,
    base_sha: String,
    open: bool,
    merged: bool,
    draft: bool,
    maintainer_can_modify: bool,
    user: Identity,
    labels: Vec<String>,
    assignees: Vec<String>,
    requested_reviewers: Vec<String>,
    requested_teams: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    merged_at: Option<DateTime<Utc>>,
}

impl PullState {
    fn close(&mut self, now: DateTime<Utc>, merged: bool) {
        self.open = false;
        self.closed_at = Some(now);
        self.updated_at = now;
        if merged {
            self.merged = true;
            self.merged_at = Some(now);
        }
    }

    fn view(&self) -> Pull {
        Pull {
            number: self.number,
            title: self.title.clone(),
            body: self.body.clone().unwrap_or_default(),
            head: self.head.clone(),
            base: self.base.clone(),
            state: if self.open { "open" } else { "closed" }.to_string(),
            merged: self.merged,
            draft: self.draft,
            maintainer_can_modify: self.maintainer_can_modify,
            user: self.user.login.clone(),
            labels: self.labels.clone(),
            assignees: self.assignees.clone(),
            requested_reviewers: self.requested_reviewers.clone(),
            requested_teams: self.requested_teams.clone(),
        }
    }
}

struct LabelState {
    id: u64,
    name: String,
    color: String,
}

struct CommentState {
    id: u64,
    body: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    user: Identity,
}

struct App {
    id: u64,
    slug: String,
    key: jsonwebtoken::DecodingKey,
    installation_id: u64,
    account: String,
    repos: Vec<RepoKey>,
    created_at: DateTime<Utc>,
}

struct IssuedToken {
    app_id: u64,
    expires_at: DateTime<Utc>,
}

struct Fault {
    method: String,
    path_contains: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

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
    requests: Vec<(String, String)>,
    next_id: u64,
}

/// Who is calling.
enum Caller {
    /// A PAT or an installation token (then `app` is set).
    Token { user: Identity, app: Option<u64> },
    /// An App, by its JWT.
    App(u64),
}

type Reply = Response;
/// An error answer (boxed: a `Response` is large).
type Fail = Box<Response>;

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

    #[allow(clippy::too_many_arguments)]
    fn new_pull(
        &mut self,
        owner: &str,
        name: &str,
        head: &str,
        base: &str,
        title: &str,
        body: Option<String>,
        draft: bool,
        maintainer_can_modify: bool,
        user: Identity,
    ) -> u64 {
        let id = self.next_id();
        let issue_id = self.next_id();
        let now = self.now();
        let repo = self.repo_mut(owner, name);
        let (head_owner, head_branch) = match head.split_once(':') {
            Some((o, b)) => (o.to_string(), b.to_string()),
            None => (repo.owner.clone(), head.to_string()),
        };
        let number = repo.next_number;
        repo.next_number += 1;
        let pull = PullState {
            id,
            issue_id,
            number,
            title: title.to_string(),
            body,
            head_sha: fake_sha(&format!("{head_owner}:{head_branch}")),
            base_sha: fake_sha(&format!("{}:{base}", repo.owner)),
            head_owner,
            head: head_branch,
            base: base.to_string(),
            open: true,
            merged: false,
            draft,
            maintainer_can_modify,
            user,
            labels: Vec::new(),
            assignees: Vec::new(),
            requested_reviewers: Vec::new(),
            requested_teams: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_at: None,
        };
        repo.pulls.insert(number, pull);
        number
    }

    // -- request handling --------------------------------------------------------------------

    fn dispatch(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Reply {
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string());
        self.requests
            .push((method.as_str().to_string(), path_and_query.clone()));

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
        let query = parse_query(uri);
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let json_body = || -> Result<Value, Fail> {
            if body.is_empty() {
                return Ok(json!({}));
            }
            serde_json::from_slice(body).map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "Problems parsing JSON",
                    &format!("{DOCS}/guides/getting-started-with-the-rest-api"),
                )
            })
        };
        let m = method.clone();
        let result = match (m, segs.as_slice()) {
            (Method::POST, ["app", "installations", id, "access_tokens"]) => {
                let id = id.parse::<u64>().unwrap_or(0);
                self.create_installation_token(headers, id)
            }
            (Method::GET, ["repos", o, r, "installation"]) => {
                self.get_repo_installation(headers, o, r)
            }
            (Method::GET, ["repos", o, r]) => self.get_repo(headers, o, r),
            (Method::GET, ["repos", o, r, "pulls"]) => self.list_pulls(headers, o, r, &query, uri),
            (Method::POST, ["repos", o, r, "pulls"]) => {
                json_body().and_then(|b| self.create_pull(headers, o, r, &b))
            }
            (Method::GET, ["repos", o, r, "pulls", n]) => self.get_pull(headers, o, r, n),
            (Method::POST, ["repos", o, r, "pulls", n, "requested_reviewers"]) => {
                json_body().and_then(|b| self.request_reviewers(headers, o, r, n, &b))
            }
            (Method::GET, ["repos", o, r, "issues", n, "comments"]) => {
                self.list_comments(headers, o, r, n, &query, uri)
            }
            (Method::POST, ["repos", o, r, "issues", n, "comments"]) => {
                json_body().and_then(|b| self.create_comment(headers, o, r, n, &b))
            }
            (Method::POST, ["repos", o, r, "issues", n, "labels"]) => {
                json_body().and_then(|b| self.add_labels(headers, o, r, n, &b))
            }
            (Method::POST, ["repos", o, r, "issues", n, "assignees"]) => {
                json_body().and_then(|b| self.add_assignees(headers, o, r, n, &b))
            }
            _ => Err(not_found()),
        };
        result.unwrap_or_else(|e| *e)
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

    /// An App JWT, verified with the App's public key.
    fn app_caller(&self, headers: &HeaderMap) -> Result<Caller, Fail> {
        #[derive(serde::Deserialize)]
        struct Claims {
            iss: Value,
            iat: Option<i64>,
            exp: i64,
        }
        let undecodable = || {
            error(
                StatusCode::UNAUTHORIZED,
                "A JSON web token could not be decoded",
                DOCS,
            )
        };
        let Some(token) = Self::bearer(headers) else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Requires authentication",
                DOCS,
            ));
        };
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(&token)
            .map_err(|_| undecodable())?;
        let iss = match &unverified.claims.iss {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        let app = iss.and_then(|id| self.apps.get(&id)).ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "'Issuer' claim ('iss') must be an Integer",
                DOCS,
            )
        })?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp"]);
        let verified = jsonwebtoken::decode::<Claims>(&token, &app.key, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => error(
                    StatusCode::UNAUTHORIZED,
                    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
                    DOCS,
                ),
                _ => undecodable(),
            }
        })?;
        let now = self.now().timestamp();
        if verified.claims.exp > now + 600 + 60 {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "'Expiration time' claim ('exp') is too far in the future",
                DOCS,
            ));
        }
        if verified.claims.iat.is_some_and(|iat| iat > now + 60) {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
                DOCS,
            ));
        }
        Ok(Caller::App(app.id))
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

    // -- routes --------------------------------------------------------------------------------

    fn get_repo(&mut self, headers: &HeaderMap, o: &str, r: &str) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        Ok(ok(
            StatusCode::OK,
            self.full_repository_json(&self.repos[&k]),
        ))
    }

    fn list_pulls(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        query: &HashMap<String, String>,
        uri: &Uri,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let repo = &self.repos[&k];
        let state = query.get("state").map(String::as_str).unwrap_or("open");
        // GitHub ignores a `head` without the `owner:` part.
        let head = query
            .get("head")
            .and_then(|h| h.split_once(':'))
            .map(|(o, b)| (o.to_ascii_lowercase(), b.to_string()));
        let base = query.get("base");
        let mut pulls: Vec<&PullState> = repo
            .pulls
            .values()
            .filter(|p| match state {
                "open" => p.open,
                "closed" => !p.open,
                _ => true,
            })
            .filter(|p| {
                head.as_ref()
                    .is_none_or(|(ho, hb)| p.head_owner.eq_ignore_ascii_case(ho) && &p.head == hb)
            })
            .filter(|p| base.is_none_or(|b| &p.base == b))
            .collect();
        let sort = query.get("sort").map(String::as_str).unwrap_or("created");
        // GitHub: `desc` by default when sorting by creation, `asc` otherwise.
        let desc = query
            .get("direction")
            .map(|d| d == "desc")
            .unwrap_or(sort == "created");
        match sort {
            "updated" => pulls.sort_by_key(|p| (p.updated_at, p.number)),
            _ => pulls.sort_by_key(|p| (p.created_at, p.number)),
        }
        if desc {
            pulls.reverse();
        }
        let items: Vec<Value> = pulls
            .iter()
            .map(|p| self.pull_json(repo, p, false))
            .collect();
        paginated(items, query, uri, headers)
    }

    fn create_pull(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        b: &Value,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let doc = format!("{DOCS}/pulls/pulls#create-a-pull-request");
        let field = |name: &str| b.get(name).and_then(Value::as_str).map(str::to_string);
        for required in ["head", "base"] {
            if field(required).is_none() {
                return Err(validation_failed(
                    &doc,
                    json!({"resource": "PullRequest", "field": required, "code": "missing_field"}),
                ));
            }
        }
        let head = field("head").unwrap();
        let base = field("base").unwrap();
        let Some(title) = field("title") else {
            return Err(validation_failed(
                &doc,
                json!({"resource": "PullRequest", "field": "title", "code": "missing_field"}),
            ));
        };
        let body = field("body");
        if body
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_BODY_CHARS)
        {
            return Err(validation_failed(
                &doc,
                json!({"resource": "PullRequest", "code": "custom", "field": "body",
                       "message": format!("body is too long (maximum is {MAX_BODY_CHARS} characters)")}),
            ));
        }
        let repo = &self.repos[&k];
        let (head_owner, head_branch) = match head.split_once(':') {
            Some((ho, hb)) => (ho.to_string(), hb.to_string()),
            None => (repo.owner.clone(), head.clone()),
        };
        let already = |repo: &Repo| {
            validation_failed(
                &doc,
                json!({"resource": "PullRequest", "code": "custom",
                       "message": format!("A pull request already exists for {}:{}.", repo.owner, head_branch)}),
            )
        };
        if repo.pulls.values().any(|p| {
            p.open
                && p.head_owner.eq_ignore_ascii_case(&head_owner)
                && p.head == head_branch
                && p.base == base
        }) {
            return Err(already(repo));
        }
        let draft = b.get("draft").and_then(Value::as_bool).unwrap_or(false);
        let mcm = b
            .get("maintainer_can_modify")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let user = Self::caller_user(&caller);
        let (owner, name) = (repo.owner.clone(), repo.name.clone());
        let number = self.new_pull(&owner, &name, &head, &base, &title, body, draft, mcm, user);
        if std::mem::take(&mut self.create_pull_then_422) {
            return Err(already(&self.repos[&k]));
        }
        let repo = &self.repos[&k];
        let pull = &repo.pulls[&number];
        let mut resp = ok(StatusCode::CREATED, self.pull_json(repo, pull, true));
        resp.headers_mut().insert(
            "location",
            HeaderValue::from_str(&format!(
                "{}/repos/{}/pulls/{number}",
                self.api(),
                repo.full_name()
            ))
            .unwrap(),
        );
        Ok(resp)
    }

    fn pull_number(&self, k: &RepoKey, n: &str) -> Result<u64, Fail> {
        n.parse::<u64>()
            .ok()
            .filter(|n| self.repos[k].pulls.contains_key(n))
            .ok_or_else(not_found)
    }

    fn get_pull(&mut self, headers: &HeaderMap, o: &str, r: &str, n: &str) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let n = self.pull_number(&k, n)?;
        let repo = &self.repos[&k];
        Ok(ok(
            StatusCode::OK,
            self.pull_json(repo, &repo.pulls[&n], true),
        ))
    }

    fn request_reviewers(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        n: &str,
        b: &Value,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let n = self.pull_number(&k, n)?;
        let strings = |name: &str| -> Vec<String> {
            b.get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let reviewers = strings("reviewers");
        let teams = strings("team_reviewers");
        let now = self.now();
        let pull = self.repos.get_mut(&k).unwrap().pulls.get_mut(&n).unwrap();
        if reviewers
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&pull.user.login))
        {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Review cannot be requested from pull request author.",
                &format!("{DOCS}/pulls/review-requests#request-reviewers-for-a-pull-request"),
            ));
        }
        for r in reviewers {
            if !pull
                .requested_reviewers
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&r))
            {
                pull.requested_reviewers.push(r);
            }
        }
        for t in teams {
            if !pull
                .requested_teams
                .iter()
                .any(|x| x.eq_ignore_ascii_case(&t))
            {
                pull.requested_teams.push(t);
            }
        }
        pull.updated_at = now;
        let repo = &self.repos[&k];
        Ok(ok(
            StatusCode::CREATED,
            self.pull_json(repo, &repo.pulls[&n], false),
        ))
    }

    fn list_comments(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        n: &str,
        query: &HashMap<String, String>,
        uri: &Uri,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let n = self.pull_number(&k, n)?;
        let since = query
            .get("since")
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        let repo = &self.repos[&k];
        let mut comments: Vec<&CommentState> = repo
            .comments
            .get(&n)
            .map(|cs| cs.iter().collect())
            .unwrap_or_default();
        comments.sort_by_key(|c| (c.created_at, c.id));
        let items: Vec<Value> = comments
            .into_iter()
            .filter(|c| since.is_none_or(|s| c.updated_at >= s))
            .map(|c| self.comment_json(repo, n, c))
            .collect();
        paginated(items, query, uri, headers)
    }

    fn create_comment(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        n: &str,
        b: &Value,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let n = self.pull_number(&k, n)?;
        let doc = format!("{DOCS}/issues/comments#create-an-issue-comment");
        let Some(body) = b.get("body").and_then(Value::as_str) else {
            return Err(validation_failed(
                &doc,
                json!({"resource": "IssueComment", "field": "body", "code": "missing_field"}),
            ));
        };
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(validation_failed(
                &doc,
                json!({"resource": "IssueComment", "code": "unprocessable", "field": "data",
                       "message": format!("Body cannot be more than {MAX_BODY_CHARS} characters")}),
            ));
        }
        let id = self.next_id();
        let now = self.now();
        let user = Self::caller_user(&caller);
        let repo = self.repos.get_mut(&k).unwrap();
        repo.comments.entry(n).or_default().push(CommentState {
            id,
            body: body.to_string(),
            created_at: now,
            updated_at: now,
            user,
        });
        repo.pulls.get_mut(&n).unwrap().updated_at = now;
        let repo = &self.repos[&k];
        let c = repo.comments[&n].last().unwrap();
        let mut resp = ok(StatusCode::CREATED, self.comment_json(repo, n, c));
        resp.headers_mut().insert(
            "location",
            HeaderValue::from_str(&format!(
                "{}/repos/{}/issues/comments/{id}",
                self.api(),
                repo.full_name()
            ))
            .unwrap(),
        );
        Ok(resp)
    }

    fn add_labels(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        n: &str,
        b: &Value,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let n = self.pull_number(&k, n)?;
        // `{"labels": [...]}` or a bare array; items are names or `{"name": ...}`.
        let items = b
            .get("labels")
            .and_then(Value::as_array)
            .or_else(|| b.as_array())
            .cloned()
            .unwrap_or_default();
        let names: Vec<String> = items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect();
        let mut ids = Vec::new();
        for _ in &names {
            ids.push(self.next_id());
        }
        let now = self.now();
        let repo = self.repos.get_mut(&k).unwrap();
        for (name, id) in names.iter().zip(ids) {
            let existing = repo
                .labels
                .values()
                .find(|l| l.name.eq_ignore_ascii_case(name))
                .map(|l| l.name.clone());
            let name = match existing {
                Some(n) => n,
                None => {
                    repo.labels.insert(
                        name.to_ascii_lowercase(),
                        LabelState {
                            id,
                            name: name.clone(),
                            color: "ededed".to_string(),
                        },
                    );
                    name.clone()
                }
            };
            let pull = repo.pulls.get_mut(&n).unwrap();
            if !pull.labels.contains(&name) {
                pull.labels.push(name);
                pull.updated_at = now;
            }
        }
        let repo = &self.repos[&k];
        let labels: Vec<Value> = repo.pulls[&n]
            .labels
            .iter()
            .map(|l| self.label_json(repo, l))
            .collect();
        Ok(ok(StatusCode::OK, Value::Array(labels)))
    }

    fn add_assignees(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
        n: &str,
        b: &Value,
    ) -> Result<Reply, Fail> {
        let caller = self.token_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let n = self.pull_number(&k, n)?;
        let names: Vec<String> = b
            .get("assignees")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let now = self.now();
        let pull = self.repos.get_mut(&k).unwrap().pulls.get_mut(&n).unwrap();
        for a in names {
            // GitHub allows at most 10 assignees and silently drops the rest.
            if pull.assignees.len() < 10
                && !pull.assignees.iter().any(|x| x.eq_ignore_ascii_case(&a))
            {
                pull.assignees.push(a);
                pull.updated_at = now;
            }
        }
        let repo = &self.repos[&k];
        Ok(ok(
            StatusCode::CREATED,
            self.issue_json(repo, &repo.pulls[&n]),
        ))
    }

    fn get_repo_installation(
        &mut self,
        headers: &HeaderMap,
        o: &str,
        r: &str,
    ) -> Result<Reply, Fail> {
        let caller = self.app_caller(headers)?;
        let k = self.visible_repo(&caller, o, r)?;
        let Caller::App(app_id) = caller else {
            unreachable!()
        };
        let _ = k;
        Ok(ok(
            StatusCode::OK,
            self.installation_json(&self.apps[&app_id]),
        ))
    }

    fn create_installation_token(
        &mut self,
        headers: &HeaderMap,
        installation_id: u64,
    ) -> Result<Reply, Fail> {
        let Caller::App(app_id) = self.app_caller(headers)? else {
            unreachable!()
        };
        if self.apps[&app_id].installation_id != installation_id {
            return Err(not_found());
        }
        self.tokens_issued += 1;
        let seed = self.next_id();
        let token = format!(
            "ghs_{}",
            &fake_sha(&format!("token-{app_id}-{}-{seed}", self.tokens_issued))[..36]
        );
        let lifetime = chrono::Duration::from_std(self.token_lifetime).unwrap();
        let expires_at = self.now() + lifetime;
        self.installation_tokens
            .insert(token.clone(), IssuedToken { app_id, expires_at });
        self.issued_order.push(token.clone());
        Ok(ok(
            StatusCode::CREATED,
            json!({
                "token": token,
                "expires_at": ts(expires_at),
                "permissions": app_permissions(),
                "repository_selection": "selected",
            }),
        ))
    }

    // -- JSON shapes (GitHub's, as in its OpenAPI description) -------------------------------

    fn simple_user(&self, who: &Identity) -> Value {
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

    fn repository_json(&self, repo: &Repo) -> Value {
        let api = self.api();
        let full = repo.full_name();
        let u = format!("{api}/repos/{full}");
        let open = repo.pulls.values().filter(|p| p.open).count();
        let mut v = json!({
            "id": repo.id,
            "node_id": node_id("R", repo.id),
            "name": repo.name,
            "full_name": full,
            "private": false,
            "owner": self.simple_user(&Identity::org(&repo.owner)),
            "html_url": format!("https://github.com/{full}"),
            "description": null,
            "fork": false,
            "url": u,
            "created_at": ts(repo.created_at),
            "updated_at": ts(repo.created_at),
            "pushed_at": ts(repo.created_at),
            "git_url": format!("git://github.com/{full}.git"),
            "ssh_url": format!("git@github.com:{full}.git"),
            "clone_url": format!("https://github.com/{full}.git"),
            "svn_url": format!("https://github.com/{full}"),
            "homepage": null,
            "size": 108,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": null,
            "has_issues": true,
            "has_projects": true,
            "has_downloads": true,
            "has_wiki": false,
            "has_pages": false,
            "has_discussions": false,
            "forks_count": 0,
        });
        merge(
            &mut v,
            json!({
                "mirror_url": null,
                "archived": false,
                "disabled": false,
                "open_issues_count": open,
                "license": null,
                "allow_forking": true,
                "is_template": false,
                "web_commit_signoff_required": false,
                "topics": [],
                "visibility": "public",
                "forks": 0,
                "open_issues": open,
                "watchers": 0,
                "default_branch": repo.default_branch,
            }),
        );
        let map = v.as_object_mut().unwrap();
        for (field, suffix) in [
            ("forks_url", "/forks"),
            ("keys_url", "/keys{/key_id}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("teams_url", "/teams"),
            ("hooks_url", "/hooks"),
            ("issue_events_url", "/issues/events{/number}"),
            ("events_url", "/events"),
            ("assignees_url", "/assignees{/user}"),
            ("branches_url", "/branches{/branch}"),
            ("tags_url", "/tags"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("trees_url", "/git/trees{/sha}"),
            ("statuses_url", "/statuses/{sha}"),
            ("languages_url", "/languages"),
            ("stargazers_url", "/stargazers"),
            ("contributors_url", "/contributors"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("commits_url", "/commits{/sha}"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("comments_url", "/comments{/number}"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("contents_url", "/contents/{+path}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("merges_url", "/merges"),
            ("archive_url", "/{archive_format}{/ref}"),
            ("downloads_url", "/downloads"),
            ("issues_url", "/issues{/number}"),
            ("pulls_url", "/pulls{/number}"),
            ("milestones_url", "/milestones{/number}"),
            (
                "notifications_url",
                "/notifications{?since,all,participating}",
            ),
            ("labels_url", "/labels{/name}"),
            ("releases_url", "/releases{/id}"),
            ("deployments_url", "/deployments"),
        ] {
            map.insert(field.to_string(), Value::String(format!("{u}{suffix}")));
        }
        v
    }

    fn full_repository_json(&self, repo: &Repo) -> Value {
        let mut v = self.repository_json(repo);
        let extra = json!({
            "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
            "allow_squash_merge": true,
            "allow_merge_commit": true,
            "allow_rebase_merge": true,
            "allow_auto_merge": false,
            "delete_branch_on_merge": false,
            "allow_update_branch": false,
            "use_squash_pr_title_as_default": false,
            "squash_merge_commit_message": "COMMIT_MESSAGES",
            "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
            "merge_commit_message": "PR_TITLE",
            "merge_commit_title": "MERGE_MESSAGE",
            "temp_clone_token": "",
            "organization": self.simple_user(&Identity::org(&repo.owner)),
            "network_count": 0,
            "subscribers_count": 1,
        });
        merge(&mut v, extra);
        v
    }

    fn label_json(&self, repo: &Repo, name: &str) -> Value {
        let l = &repo.labels[&name.to_ascii_lowercase()];
        json!({
            "id": l.id,
            "node_id": node_id("LA", l.id),
            "url": format!("{}/repos/{}/labels/{}", self.api(), repo.full_name(), encode_path_segment(&l.name)),
            "name": l.name,
            "color": l.color,
            "default": false,
            // GitHub sends null for labels without a description, but its description of
            // pull-request-simple declares a string: "" satisfies both it and octocrab.
            "description": "",
        })
    }

    fn team_json(&self, repo: &Repo, slug: &str) -> Value {
        let api = self.api();
        let id = user_id(&format!("team:{}/{slug}", repo.owner));
        let org_id = user_id(&repo.owner);
        json!({
            "id": id,
            "node_id": node_id("T", id),
            "url": format!("{api}/organizations/{org_id}/team/{id}"),
            "html_url": format!("https://github.com/orgs/{}/teams/{slug}", repo.owner),
            "name": slug,
            "slug": slug,
            "description": null,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": format!("{api}/organizations/{org_id}/team/{id}/members{{/member}}"),
            "repositories_url": format!("{api}/organizations/{org_id}/team/{id}/repos"),
            "type": "organization",
            "organization_id": org_id,
            "parent": null,
        })
    }

    fn branch_json(&self, repo: &Repo, owner: &str, branch: &str, sha: &str) -> Value {
        json!({
            "label": format!("{owner}:{branch}"),
            "ref": branch,
            "sha": sha,
            "user": self.simple_user(&Identity::org(owner)),
            "repo": self.repository_json(repo),
        })
    }

    /// `pull-request-simple`, or `pull-request` when `full`.
    fn pull_json(&self, repo: &Repo, p: &PullState, full: bool) -> Value {
        let api = self.api();
        let full_name = repo.full_name();
        let n = p.number;
        let u = format!("{api}/repos/{full_name}/pulls/{n}");
        let html = format!("https://github.com/{full_name}/pull/{n}");
        let issue = format!("{api}/repos/{full_name}/issues/{n}");
        let comments = format!("{issue}/comments");
        let statuses = format!("{api}/repos/{full_name}/statuses/{}", p.head_sha);
        let labels: Vec<Value> = p.labels.iter().map(|l| self.label_json(repo, l)).collect();
        let assignees: Vec<Value> = p
            .assignees
            .iter()
            .map(|a| self.simple_user(&Identity::user(a)))
            .collect();
        let reviewers: Vec<Value> = p
            .requested_reviewers
            .iter()
            .map(|a| self.simple_user(&Identity::user(a)))
            .collect();
        let teams: Vec<Value> = p
            .requested_teams
            .iter()
            .map(|t| self.team_json(repo, t))
            .collect();
        let mut v = json!({
            "url": u,
            "id": p.id,
            "node_id": node_id("PR", p.id),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "issue_url": issue,
            "commits_url": format!("{u}/commits"),
            "review_comments_url": format!("{u}/comments"),
            "review_comment_url": format!("{api}/repos/{full_name}/pulls/comments{{/number}}"),
            "comments_url": comments,
            "statuses_url": statuses,
            "number": n,
            "state": if p.open { "open" } else { "closed" },
            "locked": false,
            "title": p.title,
            "user": self.simple_user(&p.user),
            "body": p.body,
            "labels": labels,
            "milestone": null,
            "active_lock_reason": null,
            "created_at": ts(p.created_at),
            "updated_at": ts(p.updated_at),
            "closed_at": p.closed_at.map(ts),
            "merged_at": p.merged_at.map(ts),
            "merge_commit_sha": if p.merged { Some(fake_sha(&format!("merge:{full_name}#{n}"))) } else { None },
        });
        merge(
            &mut v,
            json!({
                "assignee": assignees.first().cloned(),
                "assignees": assignees,
                "requested_reviewers": reviewers,
                "requested_teams": teams,
                "head": self.branch_json(repo, &p.head_owner, &p.head, &p.head_sha),
                "base": self.branch_json(repo, &repo.owner, &p.base, &p.base_sha),
                "_links": {
                    "self": {"href": u},
                    "html": {"href": html},
                    "issue": {"href": issue},
                    "comments": {"href": comments},
                    "review_comments": {"href": format!("{u}/comments")},
                    "review_comment": {"href": format!("{api}/repos/{full_name}/pulls/comments{{/number}}")},
                    "commits": {"href": format!("{u}/commits")},
                    "statuses": {"href": statuses},
                },
                "author_association": author_association(&p.user),
                "auto_merge": null,
                "draft": p.draft,
            }),
        );
        if full {
            let n_comments = repo.comments.get(&n).map_or(0, Vec::len);
            let extra = json!({
                "merged": p.merged,
                "mergeable": if p.open { Some(true) } else { None },
                "rebaseable": if p.open { Some(true) } else { None },
                "mergeable_state": if !p.open { "unknown" } else if p.draft { "draft" } else { "clean" },
                "merged_by": if p.merged { Some(self.simple_user(&Identity::user(USER_LOGIN))) } else { None },
                "comments": n_comments,
                "review_comments": 0,
                "maintainer_can_modify": p.maintainer_can_modify,
                "commits": 1,
                "additions": 1,
                "deletions": 1,
                "changed_files": 1,
            });
            merge(&mut v, extra);
        }
        v
    }

    /// `issue`: the issue side of a pull request.
    fn issue_json(&self, repo: &Repo, p: &PullState) -> Value {
        let api = self.api();
        let full_name = repo.full_name();
        let n = p.number;
        let u = format!("{api}/repos/{full_name}/issues/{n}");
        let html = format!("https://github.com/{full_name}/pull/{n}");
        let assignees: Vec<Value> = p
            .assignees
            .iter()
            .map(|a| self.simple_user(&Identity::user(a)))
            .collect();
        let mut v = json!({
            "id": p.issue_id,
            "node_id": node_id("PR", p.id),
            "url": u,
            "repository_url": format!("{api}/repos/{full_name}"),
            "labels_url": format!("{u}/labels{{/name}}"),
            "comments_url": format!("{u}/comments"),
            "events_url": format!("{u}/events"),
            "html_url": html,
            "number": n,
            "state": if p.open { "open" } else { "closed" },
            "state_reason": null,
            "title": p.title,
            "body": p.body,
            "user": self.simple_user(&p.user),
            "labels": p.labels.iter().map(|l| self.label_json(repo, l)).collect::<Vec<_>>(),
            "assignee": assignees.first().cloned(),
            "assignees": assignees,
            "milestone": null,
        });
        merge(
            &mut v,
            json!({
                "locked": false,
                "active_lock_reason": null,
                "comments": repo.comments.get(&n).map_or(0, Vec::len),
                "pull_request": {
                    "url": format!("{api}/repos/{full_name}/pulls/{n}"),
                    "html_url": html,
                    "diff_url": format!("{html}.diff"),
                    "patch_url": format!("{html}.patch"),
                    "merged_at": p.merged_at.map(ts),
                },
                "closed_at": p.closed_at.map(ts),
                "created_at": ts(p.created_at),
                "updated_at": ts(p.updated_at),
                "draft": p.draft,
                "closed_by": null,
                "author_association": author_association(&p.user),
                "reactions": reactions(&format!("{u}/reactions")),
                "timeline_url": format!("{u}/timeline"),
                "performed_via_github_app": null,
            }),
        );
        v
    }

    fn comment_json(&self, repo: &Repo, number: u64, c: &CommentState) -> Value {
        let api = self.api();
        let full_name = repo.full_name();
        let u = format!("{api}/repos/{full_name}/issues/comments/{}", c.id);
        json!({
            "id": c.id,
            "node_id": node_id("IC", c.id),
            "url": u,
            "html_url": format!("https://github.com/{full_name}/pull/{number}#issuecomment-{}", c.id),
            "issue_url": format!("{api}/repos/{full_name}/issues/{number}"),
            "body": c.body,
            "user": self.simple_user(&c.user),
            "created_at": ts(c.created_at),
            "updated_at": ts(c.updated_at),
            "author_association": author_association(&c.user),
            "reactions": reactions(&format!("{u}/reactions")),
            "performed_via_github_app": null,
        })
    }

    fn installation_json(&self, app: &App) -> Value {
        let api = self.api();
        let account = Identity::org(&app.account);
        json!({
            "id": app.installation_id,
            "client_id": format!("Iv23li{}", &fake_sha(&app.slug)[..14]),
            "account": self.simple_user(&account),
            "repository_selection": "selected",
            "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", app.installation_id),
            "repositories_url": format!("{api}/installation/repositories"),
            "html_url": format!("https://github.com/organizations/{}/settings/installations/{}", app.account, app.installation_id),
            "app_id": app.id,
            "app_slug": app.slug,
            "target_id": account.id,
            "target_type": "Organization",
            "permissions": app_permissions(),
            "events": ["pull_request"],
            "created_at": ts(app.created_at),
            "updated_at": ts(app.created_at),
            "single_file_name": null,
            "has_multiple_single_files": false,
            "single_file_paths": [],
            "suspended_by": null,
            "suspended_at": null,
        })
    }
}

/// Adds `extra`'s fields to the object `v` (`json!` hits the recursion limit on large objects).
fn merge(v: &mut Value, extra: Value) {
    let Value::Object(extra) = extra else {
        panic!("merge: not an object")
    };
    v.as_object_mut()
        .expect("merge into an object")
        .extend(extra);
}

fn author_association(who: &Identity) -> &'static str {
    if who.kind == "Bot" {
        "NONE"
    } else {
        "MEMBER"
    }
}

fn app_permissions() -> Value {
    json!({"contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write"})
}

fn reactions(url: &str) -> Value {
    json!({
        "url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
        "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
    })
}

fn encode_path_segment(s: &str) -> String {
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

fn parse_query(uri: &Uri) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// Slices `items` by `per_page` (default 30, max 100) and `page`, with GitHub's `Link` header.
fn paginated(
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

fn add_github_headers(h: &mut HeaderMap) {
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

fn ok(status: StatusCode, body: Value) -> Reply {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    add_github_headers(h);
    resp
}

fn error(status: StatusCode, message: &str, documentation_url: &str) -> Fail {
    Box::new(ok(
        status,
        json!({"message": message, "documentation_url": documentation_url, "status": status.as_str()}),
    ))
}

fn not_found() -> Fail {
    error(StatusCode::NOT_FOUND, "Not Found", DOCS)
}

fn bad_credentials() -> Fail {
    error(StatusCode::UNAUTHORIZED, "Bad credentials", DOCS)
}

fn validation_failed(documentation_url: &str, err: Value) -> Fail {
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

async fn handle(
    AxumState(state): AxumState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.dispatch(&method, &uri, &headers, &body)
}
