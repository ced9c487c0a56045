//! Real servers that revertbot's tests and benchmarks both start on loopback.

pub mod git_server;
