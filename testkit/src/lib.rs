//! Servers that revertbot's tests and benchmarks both start on loopback: a real git server,
//! `revertbot serve` as a process, a throwaway PostgreSQL cluster, and the stateful fake GitHub (GitHub cannot be reached from the tests; the fake speaks its
//! real routes and JSON shapes, and Prism checks it against GitHub's OpenAPI description).
//! `world` puts them together for the service's end-to-end tests and benchmark: one repository
//! on the git server, the fake GitHub holding it, a token, a configuration, and `serve` (with,
//! by name, a PostgreSQL journal shared by replicas, the local forge, slow pushes, the
//! webhook's limits).

pub mod fake_gitea;
pub mod fake_github;
pub mod fake_gitlab;
pub mod git_server;
pub mod http;
pub mod postgres;
pub mod service;
pub mod tmpfs;
pub mod world;
