//! What the fakes' tests share: a small HTTP client that shows status and headers.
#![allow(dead_code)]

pub mod client;

// Each test file uses its part of what is here.
#[allow(unused_imports)]
pub use client::{request, Client, Response};
