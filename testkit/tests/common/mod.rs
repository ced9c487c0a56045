//! What the fakes' tests share: HTTP clients that show headers, and Prism in front of a fake.
#![allow(dead_code)]

pub mod client;
mod http;
pub mod prism;

// Each test file uses its part of what is here.
#[allow(unused_imports)]
pub use http::{request, Client, Response};
