//! Shared helpers for the integration tests: real repositories in temp dirs.
#![allow(dead_code)]

use revertbot::error::{exit_code, Exit};
use revertbot::fixture::RepoWriter;
use revertbot::image::ImageRef;
use revertbot::locate::{self, Located, PathFilter, Query};

pub fn repo() -> (tempfile::TempDir, RepoWriter) {
    let dir = tempfile::tempdir().unwrap();
    let writer = RepoWriter::init(dir.path()).unwrap();
    (dir, writer)
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

/// The exit code and message of a failed locate.
pub fn locate_err(w: &RepoWriter, image: &str) -> (Exit, String) {
    match locate::locate(&w.repo, &query(image)) {
        Ok(l) => panic!("expected no culprit for {image}, got {}", l.commit.sha),
        Err(e) => (exit_code(&e), format!("{e:#}")),
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
