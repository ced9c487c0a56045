//! A real container registry on loopback, one per test: Debian's `docker-registry`
//! (distribution 2.8) serving the OCI distribution API at `http://127.0.0.1:PORT/v2/`, its
//! storage in a temporary directory, deletes allowed. revertbot asks it whether the image it
//! rolls back to still exists (`HEAD /v2/NAME/manifests/REFERENCE`) before it opens a pull
//! request; the tests put images there ([`Registry::push`], with skopeo), take tags away
//! ([`Registry::delete_tag`]) and make it unreachable ([`Registry::stop`]).
//!
//! Auth comes in the three forms revertbot meets ([`RegistryAuth`]): none; Basic against an
//! htpasswd file; and Bearer tokens, as ghcr.io and Docker Hub do it: a request without
//! `Authorization` gets `401` with `WWW-Authenticate: Bearer realm="…",service="…",
//! scope="repository:NAME:pull"`, the client asks the realm (a token endpoint served by the
//! test kit, [`token`]) for a token with its Basic credentials, and comes back with
//! `Authorization: Bearer TOKEN`. The registry's `silly` auth, which makes that challenge,
//! lets in *any* request that has an `Authorization` header, token or not: the credentials
//! are checked by the token endpoint alone, so a test that wants to see revertbot do the
//! dance (and keep its token) looks at [`Registry::token_requests`].

mod docker_config;
mod htpasswd;
mod image;
mod server;
mod skopeo;
pub mod token;

use std::path::PathBuf;
use std::process::Child;
use std::sync::{Mutex, MutexGuard};

use base64::Engine;

pub use docker_config::{docker_config, docker_config_username_password};
pub use image::digest as sha256_digest;
pub use token::{Credentials, TokenRequest};

use crate::http::{request, Response};
use token::TokenEndpoint;

/// The `service` a Bearer registry's challenge names, and its token endpoint expects.
pub const SERVICE: &str = "revertbot-test-registry";

/// The media types a manifest `HEAD` or `GET` accepts: OCI's (what [`Registry::push`]
/// writes) and Docker's v2. Distribution 2.8 answers 404 `MANIFEST_UNKNOWN` for an OCI
/// manifest to a request that does not accept OCI's type.
pub const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// What the harness itself sends to a Bearer registry: `silly` lets any token in, and going
/// through the token endpoint would put the harness's requests among the client's.
const HARNESS_TOKEN: &str = "revertbot-testkit-harness";

/// How the registry lets clients in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAuth {
    /// No auth: everyone may pull, push and delete.
    Anonymous,
    /// `htpasswd` auth: Basic `user`:`password` (a bcrypt entry) on every request.
    Basic { user: String, password: String },
    /// Bearer tokens from the test kit's token endpoint, which gives them to Basic
    /// `user`:`password`, and, with `anonymous_pull`, to anonymous requests that ask only to
    /// pull (ghcr.io's public images).
    Bearer {
        user: String,
        password: String,
        anonymous_pull: bool,
    },
}

impl RegistryAuth {
    pub fn basic(user: &str, password: &str) -> RegistryAuth {
        RegistryAuth::Basic {
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// Bearer, with no anonymous pulls (a private image).
    pub fn bearer(user: &str, password: &str) -> RegistryAuth {
        RegistryAuth::Bearer {
            user: user.to_string(),
            password: password.to_string(),
            anonymous_pull: false,
        }
    }

    /// The user and password, if there are any.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match self {
            RegistryAuth::Anonymous => None,
            RegistryAuth::Basic { user, password }
            | RegistryAuth::Bearer { user, password, .. } => Some((user, password)),
        }
    }
}

/// A running registry. Dropping it stops the registry and its token endpoint, and removes
/// its directory (configuration, storage, log) unless the test is failing.
pub struct Registry {
    auth: RegistryAuth,
    port: u16,
    /// `None` once stopped.
    child: Mutex<Option<Child>>,
    token: Option<TokenEndpoint>,
    /// Configuration, htpasswd, storage, log.
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry with `auth` on a free loopback port, ready (`GET /v2/` answers).
    /// Panics, with the registry's log, if it cannot.
    pub fn start(auth: RegistryAuth) -> Registry {
        let mut dir = tempfile::Builder::new()
            .prefix("registry-")
            .tempdir()
            .unwrap_or_else(|e| panic!("registry: make a temporary directory: {e}"));
        let htpasswd = dir.path().join("htpasswd");
        let token = match &auth {
            RegistryAuth::Bearer {
                user,
                password,
                anonymous_pull,
            } => Some(TokenEndpoint::start(
                user,
                password,
                SERVICE,
                *anonymous_pull,
            )),
            _ => None,
        };
        let section = match (&auth, &token) {
            (RegistryAuth::Basic { user, password }, _) => {
                if let Err(e) = htpasswd::write(&htpasswd, user, password) {
                    panic!("registry: {e}");
                }
                server::AuthSection::Htpasswd { path: &htpasswd }
            }
            (RegistryAuth::Bearer { .. }, Some(token)) => server::AuthSection::Silly {
                realm: token.realm(),
                service: SERVICE,
            },
            _ => server::AuthSection::None,
        };
        let (child, port) = match server::start(dir.path(), &section) {
            Ok(started) => started,
            Err(e) => {
                // Its log stays for a look.
                dir.disable_cleanup(true);
                panic!("registry ({auth:?}): {e}");
            }
        };
        Registry {
            auth,
            port,
            child: Mutex::new(Some(child)),
            token,
            dir,
        }
    }

    /// `127.0.0.1:PORT`: the registry's host, as an image reference names it
    /// (`127.0.0.1:PORT/NAME:TAG`) and a Docker config keys it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`: the API is under `/v2/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    pub fn auth(&self) -> &RegistryAuth {
        &self.auth
    }

    /// The token endpoint's URL (`http://127.0.0.1:PORT/token`), with Bearer auth.
    pub fn realm(&self) -> Option<&str> {
        self.token.as_ref().map(TokenEndpoint::realm)
    }

    /// Every request the token endpoint got, in order; empty without Bearer auth. Pushes
    /// ([`Registry::push`]) go through it too, as skopeo (`User-Agent: skopeo/VERSION`): call
    /// [`Registry::forget_token_requests`] after them to count only the client's.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.token
            .as_ref()
            .map(TokenEndpoint::requests)
            .unwrap_or_default()
    }

    pub fn forget_token_requests(&self) {
        if let Some(token) = &self.token {
            token.forget_requests();
        }
    }

    /// Pushes a new image to `NAME:TAG` and returns its manifest's digest (`sha256:…`). The
    /// image's one file holds `NAME:TAG`, so every tag pushed this way is an image of its own,
    /// with a digest of its own: [`Registry::push_content`] gives two tags one image.
    pub fn push(&self, name: &str, tag: &str) -> String {
        self.push_content(name, tag, &format!("{name}:{tag}\n"))
    }

    /// Pushes the image whose one file holds `content` to `NAME:TAG`, with skopeo and the
    /// registry's credentials, and returns its manifest's digest. The same content is the
    /// same image, whatever the name and tag: pushed under a second tag, the same digest.
    pub fn push_content(&self, name: &str, tag: &str, content: &str) -> String {
        self.try_push(name, tag, content)
            .unwrap_or_else(|e| self.fail(&format!("push {name}:{tag}: {e}")))
    }

    fn try_push(&self, name: &str, tag: &str, content: &str) -> Result<String, String> {
        let work = tempfile::Builder::new()
            .prefix("image-")
            .tempdir_in(self.dir.path())
            .map_err(|e| format!("make a temporary directory: {e}"))?;
        let layout = work.path().join("layout");
        let written = image::write_layout(&layout, tag, content.as_bytes())?;
        let dest = format!("docker://{}/{name}:{tag}", self.host());
        let pushed = skopeo::copy(&layout, tag, &dest, self.auth.credentials(), work.path())?;
        if pushed != written {
            return Err(format!(
                "skopeo pushed {pushed}, not the manifest written, {written}"
            ));
        }
        Ok(pushed)
    }

    /// The digest of manifest `reference` (a tag or a digest) of `name`, as `HEAD` answers it
    /// (`Docker-Content-Digest`), asked with the registry's credentials; `None` on 404.
    /// Panics on any other answer.
    pub fn digest(&self, name: &str, reference: &str) -> Option<String> {
        let path = format!("/v2/{name}/manifests/{reference}");
        let answer = self.call("HEAD", &path, &[("Accept", MANIFEST_ACCEPT)]);
        match answer.status {
            200 => Some(
                answer
                    .header("docker-content-digest")
                    .unwrap_or_else(|| {
                        self.fail(&format!("HEAD {path}: 200 without Docker-Content-Digest"))
                    })
                    .to_string(),
            ),
            404 => None,
            status => self.fail(&format!("HEAD {path}: {status}")),
        }
    }

    /// Deletes tag `TAG` of `name`: `HEAD` its manifest for `Docker-Content-Digest`, then
    /// `DELETE /v2/NAME/manifests/DIGEST`, with the registry's credentials; checks that a
    /// `HEAD` of the tag is then 404, and returns the digest deleted. Distribution 2.8 deletes
    /// the manifest itself: every other tag on the same digest goes with it.
    pub fn delete_tag(&self, name: &str, tag: &str) -> String {
        let digest = self
            .digest(name, tag)
            .unwrap_or_else(|| self.fail(&format!("delete {name}:{tag}: no such tag")));
        let path = format!("/v2/{name}/manifests/{digest}");
        let answer = self.call("DELETE", &path, &[]);
        if answer.status != 202 {
            self.fail(&format!(
                "DELETE {path}: {} {}",
                answer.status,
                answer.text()
            ));
        }
        if let Some(still) = self.digest(name, tag) {
            self.fail(&format!(
                "{name}:{tag} is still {still} after DELETE {path}"
            ));
        }
        digest
    }

    /// Stops the registry (at once: SIGKILL): from now on a connection to its port is refused.
    /// Its token endpoint, if any, keeps serving.
    pub fn stop(&self) {
        if let Some(mut child) = self.lock_child().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The registry's log (its process's output, access log included).
    pub fn log_path(&self) -> PathBuf {
        server::log_path(self.dir.path())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn lock_child(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request to the registry with the harness's credentials: Basic ones as configured; a
    /// token the Bearer registry lets in without the token endpoint.
    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let authorization = match &self.auth {
            RegistryAuth::Anonymous => None,
            RegistryAuth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            RegistryAuth::Bearer { .. } => Some(format!("Bearer {HARNESS_TOKEN}")),
        };
        let mut all = headers.to_vec();
        if let Some(value) = &authorization {
            all.push(("Authorization", value));
        }
        let url = format!("{}{path}", self.url());
        request(method, &url, &all, b"")
            .unwrap_or_else(|| self.fail(&format!("{method} {path}: no answer")))
    }

    /// Panics with `what` went wrong, naming the registry's log (kept: see `Drop`) and
    /// showing its end.
    fn fail(&self, what: &str) -> ! {
        panic!(
            "registry {}: {what}; its log, {} (kept), ends:\n{}",
            self.host(),
            self.log_path().display(),
            server::log_tail(self.dir.path())
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
        // A failing test keeps the registry's directory, log and storage, for a look.
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
        }
    }
}
