//! GitHub's GraphQL API, for the one thing its REST API cannot do: turn a pull request's
//! auto-merge on.
//!
//! Sent on revertbot's own HTTP client, not octocrab's: octocrab puts every path under the
//! REST root, and GitHub Enterprise Server's GraphQL endpoint is beside it (`/api/graphql`
//! next to `/api/v3`), not under it.

use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Deserialize;

use crate::config::MergeMethod;
use crate::https::{error_chain, HttpsClient};

/// The mutation that turns auto-merge on (checked against GitHub's published schema in the
/// tests).
pub const ENABLE_AUTO_MERGE: &str =
    "mutation EnableAutoMerge($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId, mergeMethod: $mergeMethod}) {
    pullRequest {
      autoMergeRequest {
        enabledAt
        mergeMethod
      }
    }
  }
}";

/// The longest message of GitHub's carried into a line.
const MAX_MESSAGE_CHARS: usize = 300;

/// GitHub's GraphQL endpoint for a REST root: `https://api.github.com/graphql`, or
/// `https://HOST/api/graphql` for GitHub Enterprise Server's `https://HOST/api/v3`.
pub fn url(api_url: &str) -> String {
    let root = api_url.trim_end_matches('/');
    match root.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{root}/graphql"),
    }
}

/// The endpoint and the client that reaches it, built once.
pub(super) struct GraphQl {
    client: HttpsClient,
    url: String,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    errors: Vec<Message>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

impl GraphQl {
    pub(super) fn new(api_url: &str, timeout: Duration) -> anyhow::Result<GraphQl> {
        Ok(GraphQl {
            client: crate::https::client("GitHub", None, timeout)?,
            url: url(api_url),
            timeout,
        })
    }

    /// Turns auto-merge on for the pull request whose node id is `pull_node_id`, sent once.
    /// `Err`: why not, in one line — GitHub's own words when it refused (a repository that
    /// does not allow auto-merge, a pull request already mergeable), else why no answer came.
    pub(super) async fn enable_auto_merge(
        &self,
        token: &str,
        pull_node_id: &str,
        method: MergeMethod,
    ) -> Result<(), String> {
        let variables = serde_json::json!({
            "pullRequestId": pull_node_id,
            "mergeMethod": method.as_str().to_ascii_uppercase(),
        });
        let body = serde_json::json!({ "query": ENABLE_AUTO_MERGE, "variables": variables });
        let request = http::Request::post(&self.url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("revertbot/", env!("CARGO_PKG_VERSION")))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| format!("cannot make a request for {}: {e}", self.url))?;
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| {
                    format!("GitHub did not answer {}: {}", self.url, error_chain(&e))
                })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| format!("reading GitHub's answer: {}", error_chain(&e)))?
                .to_bytes();
            Ok::<_, String>((parts.status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                format!(
                    "GitHub did not answer {} within {} s",
                    self.url,
                    self.timeout.as_secs()
                )
            })??;
        let answer: Option<Answer> = serde_json::from_slice(&body).ok();
        // GitHub answers 200 with `errors` for what it refuses.
        let messages: Vec<String> = answer
            .as_ref()
            .map(|a| a.errors.iter().map(|e| e.message.clone()).collect())
            .unwrap_or_default();
        if !messages.is_empty() {
            return Err(format!("GitHub said: {}", one_line(&messages.join("; "))));
        }
        if !status.is_success() {
            let said = answer
                .and_then(|a| a.message)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
            return Err(format!(
                "GitHub answered {} ({})",
                status.as_u16(),
                one_line(&said)
            ));
        }
        Ok(())
    }
}

fn one_line(text: &str) -> String {
    super::markdown::one_line(text, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_is_beside_the_rest_root_on_enterprise_server() {
        assert_eq!(
            url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/graphql"
        );
    }
}
