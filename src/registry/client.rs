//! Asks registries whether a manifest exists, as container runtimes ask: `HEAD
//! /v2/<name>/manifests/<reference>` with the manifest types a cluster pulls, anonymously first;
//! on `401` the challenge is answered (a token from the Bearer realm, with Basic credentials for
//! that host when the Docker config file has them, kept until it expires; or the credentials
//! directly for a Basic challenge) and the request made again.
//!
//! A small client on the HTTP stack already in the tree rather than `oci-client`: that crate
//! brings reqwest (a second HTTP and TLS stack) for the one request revertbot makes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use base64::Engine as _;
use http::header::{ACCEPT, AUTHORIZATION, USER_AGENT, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Deserialize;
use sha2::Digest as _;

use super::challenge::{self, Challenge};
use super::credentials::Credentials;
use super::name::ManifestAt;
use crate::https::{error_chain, query_component, HttpsClient};

/// The manifest types a cluster pulls: OCI index and manifest, Docker manifest list and v2.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// How long a token is kept when its answer does not say (Docker's token spec: 60 s).
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(60);

/// How a deployment reaches registries.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    pub credentials: Credentials,
    /// Hosts (`HOST[:PORT]`) spoken to over plain HTTP.
    pub plain_http: Vec<String>,
    /// The deadline of one check, the token dance included.
    pub timeout: Duration,
}

/// The registries, asked through one client; tokens kept per host and scope.
pub struct Registries {
    http: HttpsClient,
    credentials: Credentials,
    plain_http: HashSet<String>,
    timeout: Duration,
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

/// What a registry said of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Found {
        digest: String,
    },
    /// `404` (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`): the registry's words.
    Missing {
        said: String,
    },
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorsBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A request's answer, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Registries {
    pub fn new(settings: RegistrySettings) -> Result<Registries> {
        Ok(Registries {
            http: crate::https::client("the registries", None, settings.timeout)?,
            credentials: settings.credentials,
            plain_http: settings
                .plain_http
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            timeout: settings.timeout,
            tokens: Mutex::default(),
        })
    }

    /// Whether the manifest exists, and its digest: within the deadline, or an error saying
    /// why it could not be told (no answer, 5xx, credentials refused or missing).
    pub async fn manifest(&self, at: &ManifestAt) -> Result<Answer, String> {
        match tokio::time::timeout(self.timeout, self.ask(at)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "{} did not answer within {} s",
                at.registry(),
                self.timeout.as_secs()
            )),
        }
    }

    async fn ask(&self, at: &ManifestAt) -> Result<Answer, String> {
        let url = format!("{}{}", self.root(&at.host), at.path());
        let key = (at.host.clone(), at.pull_scope());
        let cached = self.cached_token(&key);
        let mut auth = cached.as_ref().map(|t| format!("Bearer {t}"));
        let mut reply = self.send(Method::HEAD, &url, auth.as_deref()).await?;
        if reply.status == StatusCode::UNAUTHORIZED {
            let challenge = reply
                .headers
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(challenge::parse);
            auth = Some(self.answer(at, challenge, cached.is_some()).await?);
            reply = self.send(Method::HEAD, &url, auth.as_deref()).await?;
        }
        match reply.status {
            s if s.is_success() => {
                if let Some(digest) = header(&reply.headers, "docker-content-digest") {
                    return Ok(Answer::Found { digest });
                }
                // A registry that leaves the digest out of its answer to HEAD: the manifest
                // itself, and its digest as the registry would give it.
                let got = self.send(Method::GET, &url, auth.as_deref()).await?;
                if !got.status.is_success() {
                    return Err(self.refused(at, &got));
                }
                let digest = header(&got.headers, "docker-content-digest")
                    .unwrap_or_else(|| format!("sha256:{:x}", sha2::Sha256::digest(&got.body)));
                Ok(Answer::Found { digest })
            }
            StatusCode::NOT_FOUND => {
                // HEAD has no body: the registry's words come with a GET.
                let said = match self.send(Method::GET, &url, auth.as_deref()).await {
                    Ok(got) => errors_of(&got.body).unwrap_or_else(|| "404 Not Found".into()),
                    Err(_) => "404 Not Found".into(),
                };
                Ok(Answer::Missing { said })
            }
            _ => Err(self.refused(at, &reply)),
        }
    }

    /// The `Authorization` value that answers `challenge` for `at`.
    async fn answer(
        &self,
        at: &ManifestAt,
        challenge: Option<Challenge>,
        had_token: bool,
    ) -> Result<String, String> {
        let credentials = self.credentials.for_host(&at.host);
        match challenge {
            Some(Challenge::Basic) => match credentials {
                Some((user, password)) => Ok(basic(user, password)),
                None => Err(self.no_credentials(at)),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                if had_token {
                    // The token kept was refused (revoked, or expired early): ask anew.
                    self.forget_token(&(at.host.clone(), at.pull_scope()));
                }
                let scope = scope.unwrap_or_else(|| at.pull_scope());
                let token = self
                    .token(at, &realm, service.as_deref(), &scope, credentials)
                    .await?;
                Ok(format!("Bearer {token}"))
            }
            None => Err(format!(
                "{} answered 401 with no challenge revertbot can answer",
                at.registry()
            )),
        }
    }

    /// A token from the Bearer realm, with the host's credentials when there are any.
    async fn token(
        &self,
        at: &ManifestAt,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credentials: Option<&(String, String)>,
    ) -> Result<String, String> {
        let mut url = realm.to_string();
        let mut query = Vec::new();
        if let Some(service) = service {
            query.push(format!("service={}", query_component(service)));
        }
        query.push(format!("scope={}", query_component(scope)));
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
        let auth = credentials.map(|(u, p)| basic(u, p));
        let reply = self.send(Method::GET, &url, auth.as_deref()).await?;
        if reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::FORBIDDEN {
            return Err(match credentials {
                Some(_) => self.credentials_refused(at, reply.status),
                None => self.no_credentials(at),
            });
        }
        if !reply.status.is_success() {
            return Err(format!(
                "the token service of {} answered {}",
                at.registry(),
                reply.status.as_u16()
            ));
        }
        let answer: TokenAnswer = serde_json::from_slice(&reply.body).map_err(|e| {
            format!(
                "the token service of {} answered what is not a token: {e}",
                at.registry()
            )
        })?;
        let token = answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| format!("the token service of {} answered no token", at.registry()))?;
        let life = answer
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFE);
        // Kept a little less long than it lives: a token must not expire on its way.
        let until = Instant::now() + life.mul_f32(0.9);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((at.host.clone(), scope.to_string()), (token.clone(), until));
        Ok(token)
    }

    fn cached_token(&self, key: &(String, String)) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(t, _)| t.clone())
    }

    fn forget_token(&self, key: &(String, String)) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// What a registry's refusal means, in one line.
    fn refused(&self, at: &ManifestAt, reply: &Reply) -> String {
        match reply.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                match self.credentials.for_host(&at.host) {
                    Some(_) => self.credentials_refused(at, reply.status),
                    None => self.no_credentials(at),
                }
            }
            status => format!(
                "{} answered {}{}",
                at.registry(),
                status.as_u16(),
                errors_of(&reply.body)
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        }
    }

    fn credentials_refused(&self, at: &ManifestAt, status: StatusCode) -> String {
        format!(
            "{} refused the credentials for {} ({}) in {}; check that entry",
            at.registry(),
            at.host,
            status.as_u16(),
            self.auth_file()
        )
    }

    fn no_credentials(&self, at: &ManifestAt) -> String {
        format!(
            "{} asks for credentials and {} has none for {}; add an entry for it",
            at.registry(),
            self.auth_file(),
            at.host
        )
    }

    fn auth_file(&self) -> String {
        self.credentials.named().unwrap_or_else(|| {
            "the registry credentials (registry.auth_file, --registry-auth-file)".into()
        })
    }

    fn root(&self, host: &str) -> String {
        let scheme = if self.plain_http.contains(&host.to_ascii_lowercase()) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }

    async fn send(&self, method: Method, url: &str, auth: Option<&str>) -> Result<Reply, String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(url)
            .header(ACCEPT, MANIFEST_TYPES)
            .header(USER_AGENT, concat!("revertbot/", env!("CARGO_PKG_VERSION")));
        if let Some(auth) = auth {
            let mut value = http::HeaderValue::from_str(auth)
                .map_err(|_| "credentials a header cannot carry".to_string())?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("cannot ask {url}: {e}"))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| format!("no answer from {}: {}", host_of(url), error_chain(&e)))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading {}'s answer: {}", host_of(url), error_chain(&e)))?;
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.to_bytes(),
        })
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The registry's `errors` as one line: `MANIFEST_UNKNOWN manifest unknown`.
fn errors_of(body: &[u8]) -> Option<String> {
    let errors: ErrorsBody = serde_json::from_slice(body).ok()?;
    let said: Vec<String> = errors
        .errors
        .iter()
        .map(|e| format!("{} {}", e.code, e.message).trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    (!said.is_empty()).then(|| said.join("; "))
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}
