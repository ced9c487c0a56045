//! The command-line front, private to the binary: flags (clap), flags to the engine's typed
//! settings and jobs (secrets read once), the commands, and text rendering for people.

pub mod args;
mod demo;
mod engine;
mod progress;
mod render;
mod run;
mod service;
mod settings;

pub use run::run;
pub use service::log_format as service_log_format;

use revertbot::error::Input;

/// The flag (or environment variable) a person sets for an engine input.
pub fn flag(input: Input) -> String {
    match input {
        Input::Repo => "--repo",
        Input::Base => "--base",
        Input::Commit => "--commit",
        Input::Image => "--image",
        Input::Paths => "--path",
        Input::Push => "--push",
        Input::AllowRevertOfRevert => "--allow-revert-of-revert",
        Input::GitCredentials => {
            "REVERTBOT_GIT_TOKEN (or --git-username and REVERTBOT_GIT_PASSWORD)"
        }
        Input::Timeout => "--timeout",
        Input::GitHubApiUrl => "--github-api-url",
        Input::GitHubRepo => "--github-repo",
        Input::GitHubToken => {
            "GITHUB_TOKEN (or --github-token-file, or --github-app-id with --github-app-key-file)"
        }
        Input::GitHubAppKey => "--github-app-key-file",
        Input::GitHubInstallation => "--github-installation-id",
        Input::GitLabUrl => "--gitlab-url",
        Input::GitLabToken => "GITLAB_TOKEN (or --token-file)",
        Input::GitLabProject => "--project",
        Input::GiteaUrl => "--gitea-url",
        Input::GiteaToken => "GITEA_TOKEN (or --token-file)",
        Input::GiteaRepo => "--project",
    }
    .to_string()
}
