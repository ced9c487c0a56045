//! What the fakes' tests share: HTTP clients that show headers, and Prism in front of a fake.
#![allow(dead_code)]

pub mod client;
mod http;
pub mod prism;

pub use http::{request, Client, Response};
