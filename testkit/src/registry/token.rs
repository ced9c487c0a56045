//! The token endpoint of a registry with Bearer auth, served in-process on loopback: what
//! ghcr.io's or Docker Hub's `/token` is to their registries. The registry's `silly` auth
//! lets in any request that carries an `Authorization` header, so credentials are checked
//! here, and only here. Every request is recorded, so that a test can see the dance happen
//! and count how often a client came back for a token.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::fake_server;

/// The path of the realm on the endpoint's server.
const PATH: &str = "/token";
/// How long a token is said to last, in seconds (the registry does not check it).
pub const EXPIRES_IN: u64 = 300;

/// What a token request carried by way of credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header: an anonymous request.
    None,
    /// Basic credentials equal to the registry's user and password.
    Right,
    /// Any other `Authorization` header.
    Wrong,
}

/// One request to the token endpoint, as it came and as it was answered.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The `service` parameter, if any.
    pub service: Option<String>,
    /// Every `scope` parameter, in order (`repository:NAME:pull`, `repository:NAME:pull,push`).
    pub scopes: Vec<String>,
    pub credentials: Credentials,
    /// The `User-Agent` header, to tell the harness's own pushes (skopeo) from the client's.
    pub user_agent: Option<String>,
    /// Whether a token was given (200) or not (400 for a wrong service, 401 otherwise).
    pub granted: bool,
}

struct Rules {
    user: String,
    password: String,
    service: String,
    anonymous_pull: bool,
}

struct Book {
    requests: Vec<TokenRequest>,
    issued: u64,
}

type Shared = Arc<(Rules, Mutex<Book>)>;

/// A running token endpoint; dropping it stops the server.
pub struct TokenEndpoint {
    shared: Shared,
    realm: String,
    _server: fake_server::Running,
}

impl TokenEndpoint {
    /// Grants tokens for `service` to Basic `user`:`password`, and to anonymous requests for
    /// nothing but pulls when `anonymous_pull`.
    pub fn start(user: &str, password: &str, service: &str, anonymous_pull: bool) -> TokenEndpoint {
        let bound = fake_server::bind("registry token endpoint");
        let realm = format!("http://{}{PATH}", bound.addr);
        let shared: Shared = Arc::new((
            Rules {
                user: user.to_string(),
                password: password.to_string(),
                service: service.to_string(),
                anonymous_pull,
            },
            Mutex::new(Book {
                requests: Vec::new(),
                issued: 0,
            }),
        ));
        let app = Router::new()
            .route(PATH, get(token))
            .with_state(shared.clone());
        let server = bound.serve("registry-token", app);
        TokenEndpoint {
            shared,
            realm,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT/token`: the realm the registry's challenge names.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        lock(&self.shared).requests.clone()
    }

    pub fn forget_requests(&self) {
        lock(&self.shared).requests.clear();
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Book> {
    shared.1.lock().unwrap_or_else(|e| e.into_inner())
}

async fn token(State(shared): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let rules = &shared.0;
    let mut service = None;
    let mut scopes = Vec::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match &*k {
            "service" => service = Some(v.into_owned()),
            "scope" => scopes.push(v.into_owned()),
            _ => {}
        }
    }
    let credentials = match headers.get(header::AUTHORIZATION) {
        None => Credentials::None,
        Some(value) => {
            let right = format!("{}:{}", rules.user, rules.password);
            let given = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                });
            if given.as_deref() == Some(right.as_bytes()) {
                Credentials::Right
            } else {
                Credentials::Wrong
            }
        }
    };
    // Anonymous: only pulls, and only where the images are public.
    let pulls_only = scopes.iter().all(|scope| {
        scope
            .rsplit_once(':')
            .is_some_and(|(_, actions)| actions.split(',').all(|a| a == "pull"))
    });
    let answer = if service.as_deref() != Some(rules.service.as_str()) {
        Err((
            StatusCode::BAD_REQUEST,
            format!("service must be {:?}", rules.service),
        ))
    } else {
        match credentials {
            Credentials::Right => Ok(()),
            Credentials::None if rules.anonymous_pull && pulls_only => Ok(()),
            Credentials::None => Err((
                StatusCode::UNAUTHORIZED,
                "authentication required".to_string(),
            )),
            Credentials::Wrong => Err((
                StatusCode::UNAUTHORIZED,
                "incorrect username or password".to_string(),
            )),
        }
    };
    let now = Utc::now();
    let mut book = lock(&shared);
    book.requests.push(TokenRequest {
        at: now,
        service,
        scopes,
        credentials,
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        granted: answer.is_ok(),
    });
    match answer {
        Ok(()) => {
            book.issued += 1;
            let token = format!(
                "registry-token-{}-{}",
                book.issued,
                &fake_server::fake_sha(&now.to_rfc3339())[..16]
            );
            Json(json!({
                "token": token,
                "access_token": token,
                "expires_in": EXPIRES_IN,
                "issued_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            }))
            .into_response()
        }
        Err((status, message)) => {
            let code = if status == StatusCode::UNAUTHORIZED {
                "UNAUTHORIZED"
            } else {
                "DENIED"
            };
            let body = Json(json!({"errors": [{"code": code, "message": message}]}));
            if status == StatusCode::UNAUTHORIZED {
                let challenge = format!("Basic realm=\"{}\"", rules.service);
                (status, [(header::WWW_AUTHENTICATE, challenge)], body).into_response()
            } else {
                (status, body).into_response()
            }
        }
    }
}
