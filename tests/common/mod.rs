//! Shared helpers for the integration tests: real repositories in temp dirs.
#![allow(dead_code)]

use revertbot::error::{kind_of, Kind};
use revertbot::gitstore::RepoWriter;
use revertbot::image::ImageRef;
use revertbot::locate::{self, Located, Query};
use revertbot::manifest::PathFilter;

/// The demo GitOps repository whose `origin` is a bare repository, and a cache directory, for
/// one scenario.
pub struct Gitops {
    pub dir: tempfile::TempDir,
    pub origin: tempfile::TempDir,
    pub cache: tempfile::TempDir,
}

pub fn gitops() -> Gitops {
    let dir = tempfile::tempdir().unwrap();
    let writer = revertbot::demo::build(dir.path()).unwrap();
    let origin = bare_origin(&writer);
    Gitops {
        dir,
        origin,
        cache: tempfile::tempdir().unwrap(),
    }
}

pub fn repo() -> (tempfile::TempDir, RepoWriter) {
    let dir = tempfile::tempdir().unwrap();
    let writer = RepoWriter::init(dir.path()).unwrap();
    (dir, writer)
}

/// A bare repository, made `w`'s `origin` and holding its `main`.
pub fn bare_origin(w: &RepoWriter) -> tempfile::TempDir {
    let origin = tempfile::tempdir().unwrap();
    git2::Repository::init_bare(origin.path()).unwrap();
    let mut remote = w
        .repo
        .remote("origin", origin.path().to_str().unwrap())
        .unwrap();
    remote
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    origin
}

pub fn query(image: &str) -> Query {
    Query {
        image: ImageRef::parse(image).unwrap(),
        rev: "HEAD".into(),
        paths: PathFilter::default(),
    }
}

pub fn locate(w: &RepoWriter, image: &str) -> Located {
    locate::locate(&w.repo, &query(image)).unwrap_or_else(|e| panic!("locate {image}: {e:#}"))
}

/// The kind and message of a failed locate.
pub fn locate_err(w: &RepoWriter, image: &str) -> (Kind, String) {
    match locate::locate(&w.repo, &query(image)) {
        Ok(l) => panic!("expected no culprit for {image}, got {}", l.commit.sha),
        Err(e) => (kind_of(&e), format!("{e:#}")),
    }
}

pub fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {image}\n"
    )
}

pub fn kustomization(entries: &[(&str, &str)]) -> String {
    let mut s = String::from("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\nimages:\n");
    for (name, tag) in entries {
        s.push_str(&format!("  - name: {name}\n    newTag: {tag}\n"));
    }
    s
}

#[allow(unused_imports)]
pub use revertbot_testkit::{fake_github, git_server};
pub mod signing_keys;
pub mod ssh_server;

use revertbot::gitstore::remote::{GitAuth, Network, Source};
use revertbot::revert::{Author, Effects, GitSettings, RevertReport, Target};
use revertbot::subject::Subject;

/// One `revert` as the CLI would ask it: the deployment's settings, the target and the
/// effects side by side, so that a test sets any of them by name.
#[derive(Debug, Clone)]
pub struct RevertRequest {
    pub source: Source,
    pub cache_dir: std::path::PathBuf,
    pub base: Option<String>,
    pub commit: Option<String>,
    pub image: Option<ImageRef>,
    pub paths: PathFilter,
    pub whole_commit: bool,
    pub allow_revert_of_revert: bool,
    pub push: bool,
    pub dry_run: bool,
    pub offline: bool,
    pub author: (String, String),
    pub network: Network,
    /// How commits are signed and signed off (unsigned by default).
    pub commits: revertbot::revert::CommitSigning,
}

impl RevertRequest {
    pub fn git(&self) -> GitSettings {
        GitSettings {
            commits: self.commits.clone(),
            cache_dir: self.cache_dir.clone(),
            author: Author {
                name: self.author.0.clone(),
                email: self.author.1.clone(),
            },
            network: self.network.clone(),
        }
    }

    pub fn target(&self) -> Target {
        Target {
            source: self.source.clone(),
            base: self.base.clone(),
            subject: match (self.commit.clone(), self.image.clone()) {
                (Some(commit), image) => Some(Subject::Commit { commit, image }),
                (None, Some(image)) => Some(Subject::Image(image)),
                (None, None) => None,
            },
            paths: self.paths.clone(),
            whole_commit: self.whole_commit,
            allow_revert_of_revert: self.allow_revert_of_revert,
            committed_by: None,
            hold: revertbot::revert::HoldPolicy::Auto,
        }
    }

    pub fn effects(&self) -> Effects {
        Effects {
            push: self.push,
            dry_run: self.dry_run,
            offline: self.offline,
        }
    }

    pub fn run(&self) -> anyhow::Result<RevertReport> {
        revertbot::revert::rollback(&self.git(), &self.target(), self.effects())
    }
}

/// A `revert` request with the CLI's defaults, for `--repo source`.
pub fn revert_request(source: &str, cache_dir: &std::path::Path) -> RevertRequest {
    RevertRequest {
        source: Source::parse(source),
        cache_dir: cache_dir.to_path_buf(),
        base: None,
        commit: None,
        image: None,
        paths: PathFilter::default(),
        whole_commit: false,
        allow_revert_of_revert: false,
        push: false,
        dry_run: false,
        offline: false,
        author: ("revertbot".into(), "revertbot@localhost".into()),
        network: Network {
            auth: GitAuth::default(),
            timeout: std::time::Duration::from_secs(20),
            progress: None,
            cancel: Default::default(),
        },
        commits: Default::default(),
    }
}

pub fn with_image(mut req: RevertRequest, image: &str) -> RevertRequest {
    req.image = Some(ImageRef::parse(image).unwrap());
    req
}

pub fn rollback(req: &RevertRequest) -> RevertReport {
    req.run().unwrap_or_else(|e| panic!("revert: {e:#}"))
}

pub fn rollback_err(req: &RevertRequest) -> (Kind, String) {
    match req.run() {
        Ok(r) => panic!("expected a refusal, got {:?} {:?}", r.outcome, r.branch),
        Err(e) => (kind_of(&e), format!("{e:#}")),
    }
}

/// A file's content on a branch of a repository.
pub fn file_at(repo: &git2::Repository, rev: &str, path: &str) -> Option<String> {
    let tree = repo.revparse_single(rev).ok()?.peel_to_tree().ok()?;
    let entry = tree.get_path(std::path::Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(String::from_utf8(blob.content().to_vec()).unwrap())
}

/// A throwaway RSA key pair for a test GitHub App: (private key PEM in PKCS#1, as GitHub hands
/// them out, public key PEM), made with the openssl command.
pub fn test_app_key() -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("app.pem");
    let public = dir.path().join("app.pub.pem");
    let (private_arg, public_arg) = (private.to_str().unwrap(), public.to_str().unwrap());
    for args in [
        vec!["genrsa", "-traditional", "-out", private_arg, "2048"],
        vec!["rsa", "-in", private_arg, "-pubout", "-out", public_arg],
    ] {
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (
        std::fs::read_to_string(private).unwrap(),
        std::fs::read_to_string(public).unwrap(),
    )
}

pub mod alertmanager;
pub mod demo_service;
pub mod flux;
pub mod github_hook;
#[allow(unused_imports)]
pub use revertbot_testkit::http::{eventually, free_port, http, http_get, http_post};
#[allow(unused_imports)]
pub use revertbot_testkit::service;
