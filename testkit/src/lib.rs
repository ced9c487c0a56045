//! Servers that revertbot's tests and benchmarks both start on loopback: a real git server,
//! a real container registry (with the token endpoint of Bearer auth), `revertbot serve` as a
//! process, a throwaway PostgreSQL cluster, and stateful fakes of the forges — GitHub, GitLab,
//! Gitea/Forgejo — which cannot be reached from the tests: each speaks its forge's real routes
//! and JSON shapes, and Prism (`prism`) checks it against that forge's own API description.
//! `world` puts them together for the service's end-to-end tests and benchmark: one repository
//! on the git server, the fake GitHub holding it, a token, a configuration, and `serve` (with,
//! by name, a PostgreSQL journal shared by replicas, the local forge, slow pushes, the
//! webhook's limits).

mod bare_git;
pub mod fake_gitea;
pub mod fake_github;
pub mod fake_gitlab;
mod fake_server;
pub mod git_server;
pub mod http;
pub mod postgres;
pub mod prism;
pub mod registry;
pub mod service;
pub mod tmpfs;
pub mod world;
