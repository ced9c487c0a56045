//! A stateful fake GitLab REST API (v4), served in-process on loopback.
//!
//! It speaks GitLab's routes, status codes and JSON shapes for the operations revertbot uses (the
//! list in `scripts/trim-gitlab-openapi.mjs`), so a real HTTP client can talk to it and tests can
//! assert the final state: which merge requests exist, their labels, reviewers, notes.
//! `tests/gitlab_contract.rs` checks the shapes against GitLab's own OpenAPI description through
//! Prism.
//!
//! Behaviour copied from GitLab, because revertbot must cope with it:
//! - A token goes in `PRIVATE-TOKEN` or `Authorization: Bearer`; an unknown or missing one is
//!   401 `{"message":"401 Unauthorized"}`. A token whose scopes do not allow the call (`read_api`
//!   on a write) is 403 `{"error":"insufficient_scope", ...}`.
//! - A project is named by its numeric id or by its URL-encoded full path, at any depth of groups
//!   (`acme%2Fplatform%2Fgitops`); an unknown one is 404 `{"message":"404 Project Not Found"}`.
//! - Merge requests are numbered per project (`iid`). A second open merge request for the same
//!   source and target branch is 409 `{"message":["Another open merge request already exists for
//!   this source branch: !N"]}`; a closed or merged one does not block a new one.
//! - With a bare git repository given to [`FakeGitLab::add_project`], a missing source or target
//!   branch is 400 `{"message":{"source_branch":["does not exist"]}}` (or `target_branch`).
//! - `add_labels` on a merge request creates project labels that do not exist yet, as GitLab does.
//! - Lists are paginated with `page` / `per_page` (default 20, max 100) and answer `X-Page`,
//!   `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page` (empty on the last page),
//!   `X-Prev-Page` and `Link`.
//!
//! The server runs on its own thread with its own tokio runtime, so the API is synchronous and
//! works from plain `#[test]`s as well as from `#[tokio::test]`s.
//!
//! Layout: this file holds the handle ([`FakeGitLab`]), the shared `State` and the checks every
//! resource makes (who is calling, which project). `routing` matches a request against the route
//! tables after the request log and the queued faults; each resource (`projects`,
//! `merge_requests`, `notes`, `labels`, `users`) has its own `impl State` with its handlers, its
//! JSON shapes and its `ROUTES`. `model` holds the stored state, `reply` the answers shared by
//! several resources.

mod labels;
mod merge_requests;
mod model;
mod notes;
mod projects;
mod reply;
mod route;
mod routing;
mod users;

use crate::bare_git;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use axum::Router;

use crate::fake_server;
use chrono::{DateTime, Utc};

use model::{Fault, LabelState, MergeRequestState, NoteState, Project, Token, User};
use reply::{header, insufficient_scope, project_not_found, unauthorized, Fail};

/// The user behind [`FakeGitLab::allow_token`]'s tokens.
pub const USER_USERNAME: &str = "revertbot";
/// The colour GitLab gives a label that `add_labels` creates.
pub const DEFAULT_LABEL_COLOR: &str = "#6699cc";

/// A merge request as the fake holds it (the test's view, not the wire format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeRequest {
    pub iid: u64,
    pub title: String,
    /// Empty when it has none.
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    /// `opened`, `closed`, `merged` or `locked`.
    pub state: String,
    pub draft: bool,
    /// Username of the author.
    pub author: String,
    pub labels: Vec<String>,
    /// Usernames.
    pub assignees: Vec<String>,
    /// Usernames.
    pub reviewers: Vec<String>,
    /// Set by `PUT .../merge` with `auto_merge` or `merge_when_pipeline_succeeds`.
    pub merge_when_pipeline_succeeds: bool,
    pub squash: bool,
}

/// A note (comment) on a merge request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub id: u64,
    pub body: String,
    /// Username of the author.
    pub author: String,
    pub system: bool,
    pub created_at: DateTime<Utc>,
}

/// A request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Header names in lowercase, values as sent (non-UTF-8 values lossily).
    pub headers: Vec<(String, String)>,
    /// The body, lossily as UTF-8.
    pub body: String,
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
pub struct FakeGitLab {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    /// Stops the server when dropped.
    _server: fake_server::Running,
}

impl FakeGitLab {
    /// Serves `https://gitlab.example.com`-style routes (`/api/v4/...`) at
    /// `http://127.0.0.1:PORT`.
    pub fn start() -> FakeGitLab {
        let bound = fake_server::bind("fake GitLab");
        let addr = bound.addr;
        let state = Arc::new(Mutex::new(State::new(addr)));
        let app = Router::new()
            .fallback(routing::handle)
            .with_state(state.clone());
        let server = bound.serve("fake-gitlab", app);
        FakeGitLab {
            state,
            addr,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`: the instance URL, as a GitLab client is configured with.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.base_url())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a project by its full path (`acme/platform/gitops`, any depth of groups) with default
    /// branch `main`; returns its numeric id. With `git_dir`, merge requests are created only
    /// for branches that exist in that bare repository (the one revertbot pushes to).
    pub fn add_project(&self, path_with_namespace: &str, git_dir: Option<&Path>) -> u64 {
        let mut st = self.lock();
        if let Some(p) = st.find_project(path_with_namespace) {
            return p;
        }
        let id = st.next_project_id;
        st.next_project_id += 1;
        let namespace_id = 100 + id;
        st.projects.insert(
            id,
            Project {
                id,
                path_with_namespace: path_with_namespace.trim_matches('/').to_string(),
                default_branch: "main".to_string(),
                git_dir: git_dir.map(Path::to_path_buf),
                created_at: Utc::now() - chrono::Duration::days(400),
                namespace_id,
                merge_requests: BTreeMap::new(),
                next_iid: 1,
                labels: BTreeMap::new(),
            },
        );
        id
    }

    pub fn set_default_branch(&self, project: &str, branch: &str) {
        self.lock().project_mut(project).default_branch = branch.to_string();
    }

    /// Adds a user (or returns the existing one's id).
    pub fn add_user(&self, username: &str, name: &str) -> u64 {
        self.lock().ensure_user(username, name)
    }

    /// Accepts `token` with scope `api`, for the user [`USER_USERNAME`].
    pub fn allow_token(&self, token: &str) {
        self.add_token(token, USER_USERNAME, &["api"]);
    }

    /// Accepts `token` for `username` (created if new) with these scopes (`api`, `read_api`,
    /// `write_repository`...): without `api`, writes are 403 `insufficient_scope`; without `api`
    /// or `read_api`, everything is.
    pub fn add_token(&self, token: &str, username: &str, scopes: &[&str]) {
        let mut st = self.lock();
        let user_id = st.ensure_user(username, username);
        st.tokens.insert(
            token.to_string(),
            Token {
                user_id,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        );
    }

    /// Merge requests of a project (by path or id), by iid.
    pub fn merge_requests(&self, project: &str) -> Vec<MergeRequest> {
        let st = self.lock();
        let p = st.project(project);
        p.merge_requests.values().map(|m| st.view(m)).collect()
    }

    /// Notes on a merge request, oldest first.
    pub fn notes(&self, project: &str, iid: u64) -> Vec<Note> {
        let st = self.lock();
        let mr = st.mr(project, iid);
        mr.notes
            .iter()
            .map(|n| Note {
                id: n.id,
                body: n.body.clone(),
                author: st.users[&n.author].username.clone(),
                system: n.system,
                created_at: n.created_at,
            })
            .collect()
    }

    /// The project's label names, sorted case-insensitively.
    pub fn labels(&self, project: &str) -> Vec<String> {
        let st = self.lock();
        st.project(project)
            .labels
            .values()
            .map(|l| l.name.clone())
            .collect()
    }

    /// Pre-populates a label.
    pub fn add_label(&self, project: &str, name: &str, color: &str) {
        let mut st = self.lock();
        let id = st.next_id();
        st.project_mut(project).labels.insert(
            name.to_lowercase(),
            LabelState {
                id,
                name: name.to_string(),
                color: color.to_string(),
                description: None,
                priority: None,
            },
        );
    }

    /// Pre-populates an open merge request (author [`USER_USERNAME`]); its branches need not exist
    /// in the git repository. Returns its iid.
    pub fn add_merge_request(&self, project: &str, source: &str, target: &str, title: &str) -> u64 {
        let mut st = self.lock();
        let author = st.ensure_user(USER_USERNAME, USER_USERNAME);
        let pid = st.project(project).id;
        st.new_merge_request(pid, source, target, title, None, author)
    }

    /// Closes a merge request as a person would in the web UI.
    pub fn close_merge_request(&self, project: &str, iid: u64) {
        let mut st = self.lock();
        let now = st.now();
        let user = st.ensure_user("reviewer", "A Reviewer");
        let mr = st.mr_mut(project, iid);
        mr.state = "closed".to_string();
        mr.closed_at = Some(now);
        mr.closed_by = Some(user);
        mr.updated_at = now;
    }

    /// Merges a merge request as a person would in the web UI.
    pub fn merge_merge_request(&self, project: &str, iid: u64) {
        let mut st = self.lock();
        let user = st.ensure_user("reviewer", "A Reviewer");
        let pid = st.project(project).id;
        st.merge_now(pid, iid, user);
    }

    /// Queues a fault: the next `times` requests whose method is `method` (case-insensitive) and
    /// whose path+query contains `path_contains` are answered with `status`, `headers` and `body`
    /// (default: `{"message":"<status> <reason>"}`) and do not reach the routes. Faults are
    /// matched in the order queued.
    pub fn fail_next(
        &self,
        method: &str,
        path_contains: &str,
        status: u16,
        times: usize,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) {
        self.lock().faults.push_back(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            status,
            headers,
            body,
            remaining: times,
        });
    }

    /// Queues GitLab's rate-limit answer for the next `times` matching requests: 429, body
    /// `Retry later`, `Retry-After` and the `RateLimit-*` headers.
    pub fn fail_next_rate_limited(
        &self,
        method: &str,
        path_contains: &str,
        times: usize,
        retry_after: Duration,
    ) {
        let secs = retry_after.as_secs();
        let reset = Utc::now().timestamp() + secs as i64;
        let headers = vec![
            ("retry-after".to_string(), secs.to_string()),
            (
                "ratelimit-name".to_string(),
                "throttle_authenticated_api".to_string(),
            ),
            ("ratelimit-limit".to_string(), "2000".to_string()),
            ("ratelimit-observed".to_string(), "2001".to_string()),
            ("ratelimit-remaining".to_string(), "0".to_string()),
            ("ratelimit-reset".to_string(), reset.to_string()),
            ("content-type".to_string(), "text/plain".to_string()),
        ];
        self.fail_next(
            method,
            path_contains,
            429,
            times,
            headers,
            Some("Retry later\n".to_string()),
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
    addr: SocketAddr,
    users: BTreeMap<u64, User>,
    tokens: HashMap<String, Token>,
    projects: BTreeMap<u64, Project>,
    faults: VecDeque<Fault>,
    requests: Vec<Request>,
    next_project_id: u64,
    next_user_id: u64,
    next_id: u64,
}

impl State {
    fn new(addr: SocketAddr) -> State {
        State {
            addr,
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            projects: BTreeMap::new(),
            faults: VecDeque::new(),
            requests: Vec::new(),
            next_project_id: 42,
            next_user_id: 7,
            next_id: 90_000,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Where `web_url`s point: the fake's own address (GitLab's is the instance URL).
    fn web_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn ensure_user(&mut self, username: &str, name: &str) -> u64 {
        if let Some(u) = self
            .users
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(username))
        {
            return u.id;
        }
        let id = self.next_user_id;
        self.next_user_id += 1;
        self.users.insert(
            id,
            User {
                id,
                username: username.to_string(),
                name: name.to_string(),
            },
        );
        id
    }

    /// A project by numeric id, or by full path (as given to the test hooks, or percent-decoded
    /// from a route).
    fn find_project(&self, id_or_path: &str) -> Option<u64> {
        if let Ok(id) = id_or_path.parse::<u64>() {
            return self.projects.contains_key(&id).then_some(id);
        }
        let want = id_or_path.trim_matches('/');
        self.projects
            .values()
            .find(|p| p.path_with_namespace.eq_ignore_ascii_case(want))
            .map(|p| p.id)
    }

    fn project(&self, project: &str) -> &Project {
        let id = self
            .find_project(project)
            .unwrap_or_else(|| panic!("fake GitLab: no project {project} (add_project first)"));
        &self.projects[&id]
    }

    fn project_mut(&mut self, project: &str) -> &mut Project {
        let id = self
            .find_project(project)
            .unwrap_or_else(|| panic!("fake GitLab: no project {project} (add_project first)"));
        self.projects.get_mut(&id).unwrap()
    }

    fn mr(&self, project: &str, iid: u64) -> &MergeRequestState {
        self.project(project)
            .merge_requests
            .get(&iid)
            .unwrap_or_else(|| panic!("fake GitLab: no merge request !{iid} in {project}"))
    }

    fn mr_mut(&mut self, project: &str, iid: u64) -> &mut MergeRequestState {
        self.project_mut(project)
            .merge_requests
            .get_mut(&iid)
            .unwrap_or_else(|| panic!("fake GitLab: no merge request !{iid} in {project}"))
    }

    fn view(&self, m: &MergeRequestState) -> MergeRequest {
        let name = |id: &u64| self.users[id].username.clone();
        MergeRequest {
            iid: m.iid,
            title: m.title.clone(),
            description: m.description.clone().unwrap_or_default(),
            source_branch: m.source_branch.clone(),
            target_branch: m.target_branch.clone(),
            state: m.state.clone(),
            draft: m.draft,
            author: name(&m.author),
            labels: m.labels.clone(),
            assignees: m.assignees.iter().map(name).collect(),
            reviewers: m.reviewers.iter().map(name).collect(),
            merge_when_pipeline_succeeds: m.merge_when_pipeline_succeeds,
            squash: m.squash,
        }
    }

    // -- who is calling ------------------------------------------------------------------------

    /// The caller's user id, if its token (in `PRIVATE-TOKEN` or `Authorization: Bearer`) is
    /// known and its scopes allow `method`.
    fn caller(&self, method: &Method, headers: &HeaderMap) -> Result<u64, Fail> {
        let token = header(headers, "private-token")
            .map(|t| t.trim().to_string())
            .or_else(|| {
                let v = header(headers, "authorization")?;
                let (scheme, t) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| t.trim().to_string())
            });
        let Some(token) = token.and_then(|t| self.tokens.get(&t)) else {
            return Err(unauthorized());
        };
        let write = !matches!(*method, Method::GET | Method::HEAD);
        if !token.can_read() || (write && !token.can_write()) {
            return Err(insufficient_scope("api"));
        }
        Ok(token.user_id)
    }

    /// The project a route's `{id}` names (numeric, or a URL-encoded full path).
    fn route_project(&self, id: &str) -> Result<u64, Fail> {
        let decoded = route::percent_decode(id);
        self.find_project(&decoded).ok_or_else(project_not_found)
    }

    fn new_merge_request(
        &mut self,
        pid: u64,
        source: &str,
        target: &str,
        title: &str,
        description: Option<String>,
        author: u64,
    ) -> u64 {
        let id = self.next_id();
        let now = self.now();
        let p = self.projects.get_mut(&pid).unwrap();
        let iid = p.next_iid;
        p.next_iid += 1;
        let sha = p
            .git_dir
            .as_deref()
            .and_then(|d| bare_git::tip(d, source))
            .unwrap_or_else(|| model::fake_sha(&format!("{}:{source}", p.path_with_namespace)));
        let draft = is_draft_title(title);
        p.merge_requests.insert(
            iid,
            MergeRequestState {
                id,
                iid,
                title: title.to_string(),
                description,
                state: "opened".to_string(),
                source_branch: source.to_string(),
                target_branch: target.to_string(),
                sha,
                author,
                assignees: Vec::new(),
                reviewers: Vec::new(),
                labels: Vec::new(),
                draft,
                remove_source_branch: None,
                squash: false,
                merge_when_pipeline_succeeds: false,
                merged_by: None,
                closed_by: None,
                merge_commit_sha: None,
                created_at: now,
                updated_at: now,
                merged_at: None,
                closed_at: None,
                notes: Vec::new(),
            },
        );
        iid
    }

    fn merge_now(&mut self, pid: u64, iid: u64, user: u64) {
        let now = self.now();
        let p = self.projects.get_mut(&pid).unwrap();
        let path = p.path_with_namespace.clone();
        let mr = p
            .merge_requests
            .get_mut(&iid)
            .unwrap_or_else(|| panic!("fake GitLab: no merge request !{iid} in {path}"));
        mr.state = "merged".to_string();
        mr.merged_at = Some(now);
        mr.merged_by = Some(user);
        mr.merge_when_pipeline_succeeds = false;
        mr.merge_commit_sha = Some(model::fake_sha(&format!("merge:{path}!{iid}")));
        mr.updated_at = now;
    }

    /// Finds or creates labels by name (case-insensitively, as GitLab matches them); returns the
    /// names as stored.
    fn find_or_create_labels(&mut self, pid: u64, names: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for name in names {
            let key = name.to_lowercase();
            if !self.projects[&pid].labels.contains_key(&key) {
                let id = self.next_id();
                self.projects.get_mut(&pid).unwrap().labels.insert(
                    key.clone(),
                    LabelState {
                        id,
                        name: name.clone(),
                        color: DEFAULT_LABEL_COLOR.to_string(),
                        description: None,
                        priority: None,
                    },
                );
            }
            out.push(self.projects[&pid].labels[&key].name.clone());
        }
        out
    }

    fn new_note(&mut self, pid: u64, iid: u64, body: &str, author: u64, internal: bool) -> u64 {
        let id = self.next_id();
        let now = self.now();
        let mr = self
            .projects
            .get_mut(&pid)
            .unwrap()
            .merge_requests
            .get_mut(&iid)
            .unwrap();
        mr.notes.push(NoteState {
            id,
            body: body.to_string(),
            author,
            system: false,
            internal,
            created_at: now,
        });
        mr.updated_at = now;
        id
    }
}

/// GitLab treats a title starting with `Draft:`, `[Draft]` or `(Draft)` as a draft.
fn is_draft_title(title: &str) -> bool {
    let t = title.trim_start().to_ascii_lowercase();
    t.starts_with("draft:") || t.starts_with("[draft]") || t.starts_with("(draft)")
}
