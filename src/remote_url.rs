//! What a remote URL or an API address says: which server, which repository on it. Pure
//! text, so that the configuration can tell a repository's forge from its URL.

pub const GITHUB_API_URL: &str = "https://api.github.com";

/// GitLab's public instance, when no other is given.
pub const GITLAB_URL: &str = "https://gitlab.com";

/// `(host, owner, name)` of a git remote URL: `https://host/owner/name(.git)`,
/// `git@host:owner/name.git`, `ssh://git@host/owner/name.git`.
pub fn repo_of_remote(url: &str) -> Option<(String, String, String)> {
    let (host, path) = path_of_remote(url)?;
    let (owner, name) = path.rsplit_once('/')?;
    let owner = owner.rsplit('/').next()?;
    Some((host, owner.to_string(), name.to_string()))
}

/// `(host, path)` of a git remote URL, the path without `.git` and without slashes around it:
/// `https://gitlab.example.com/acme/platform/gitops.git` → `acme/platform/gitops` (a GitLab
/// project's full path, any depth of groups).
pub fn path_of_remote(url: &str) -> Option<(String, String)> {
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?;
        (host.split(':').next()?.to_string(), path)
    } else {
        let (user_host, path) = url.split_once(':')?;
        (user_host.rsplit('@').next()?.to_string(), path)
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if host.is_empty() || !path.contains('/') || path.split('/').any(str::is_empty) {
        return None;
    }
    Some((host.to_ascii_lowercase(), path.to_string()))
}

/// The web address of a GitHub from its API address: `https://api.github.com` →
/// `https://github.com`; `https://ghe.example.com/api/v3` → `https://ghe.example.com`.
pub fn web_url(api_url: &str) -> String {
    let api = api_url.trim_end_matches('/');
    if let Some(rest) = api.strip_suffix("/api/v3") {
        return rest.to_string();
    }
    match api.split_once("://api.") {
        Some((scheme, host)) => format!("{scheme}://{host}"),
        None => api.to_string(),
    }
}

/// The host name of a URL (no port), lower-cased.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit('@').next()?;
    Some(host.split(':').next()?.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_projects_whole_path_from_remote_urls() {
        let want = |p: &str| Some(("gitlab.example.com".to_string(), p.to_string()));
        assert_eq!(
            path_of_remote("https://gitlab.example.com/acme/platform/gitops.git"),
            want("acme/platform/gitops")
        );
        assert_eq!(
            path_of_remote("git@gitlab.example.com:acme/gitops.git"),
            want("acme/gitops")
        );
        assert_eq!(
            path_of_remote("ssh://git@gitlab.example.com:2222/acme/a/b/gitops"),
            want("acme/a/b/gitops")
        );
        assert_eq!(
            path_of_remote("https://gitlab.example.com/gitops.git"),
            None
        );
        assert_eq!(path_of_remote("/srv/git/gitops"), None);
    }

    #[test]
    fn reads_owner_and_name_from_remote_urls() {
        let want = |h: &str| Some((h.to_string(), "acme".to_string(), "gitops".to_string()));
        assert_eq!(
            repo_of_remote("https://github.com/acme/gitops.git"),
            want("github.com")
        );
        assert_eq!(
            repo_of_remote("https://x-access-token:t@github.com/acme/gitops"),
            want("github.com")
        );
        assert_eq!(
            repo_of_remote("git@github.com:acme/gitops.git"),
            want("github.com")
        );
        assert_eq!(
            repo_of_remote("ssh://git@ghe.example.com:2222/acme/gitops.git"),
            want("ghe.example.com")
        );
        assert_eq!(
            repo_of_remote("https://ghe.example.com/acme/gitops/"),
            want("ghe.example.com")
        );
        assert_eq!(repo_of_remote("/srv/git/gitops.git"), None);
    }

    #[test]
    fn derives_the_web_address_from_the_api_address() {
        assert_eq!(web_url("https://api.github.com"), "https://github.com");
        assert_eq!(
            web_url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com"
        );
        assert_eq!(
            host_of("https://ghe.example.com/api/v3"),
            Some("ghe.example.com".into())
        );
    }
}
