//! Whether the images a rollback deploys again still exist in their registries: a registry
//! deletes old tags (lifecycle rules, retention, a person), and a rollback to a tag that is gone
//! turns a bad deploy into `ImagePullBackOff` everywhere at once, after a reviewer trusted it.
//!
//! What is asked (name: a reference's registry, repository and tag or digest, Docker Hub's
//! names as the cluster maps them), how a registry lets revertbot in (challenge: its
//! `WWW-Authenticate`; credentials: a Docker config file), the client that asks
//! (`HEAD /v2/<name>/manifests/<reference>`, the token dance of container runtimes), and what is
//! checked for a rollback and what comes of it (check).

mod challenge;
mod check;
mod client;
mod credentials;
mod name;

pub use check::{images_to_check, verdict, ImageCheck, OnError, OnMissing, Policy, MISSING_CODE};
pub use client::{Registries, RegistrySettings};
pub use credentials::Credentials;
pub use name::ManifestAt;
