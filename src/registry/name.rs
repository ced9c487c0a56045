//! Where a reference's manifest is asked for: the registry's host as its API is reached, the
//! repository, and the tag or digest. Pure.

use crate::image::{normalize_name, ImageRef};

/// Docker Hub's API host: `docker.io` names are asked there, as container runtimes do.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// One manifest of one repository on one registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManifestAt {
    /// `ghcr.io`, `registry.internal:5000`, `registry-1.docker.io`.
    pub host: String,
    /// `acme/api`, `library/nginx`.
    pub repository: String,
    /// A digest when the reference is pinned by one, else its tag.
    pub reference: String,
}

impl ManifestAt {
    /// Where `image` is: `None` for a reference with neither tag nor digest (nothing to check).
    pub fn of(image: &ImageRef) -> Option<ManifestAt> {
        let reference = image.digest.clone().or_else(|| image.tag.clone())?;
        let normalized = normalize_name(&image.name);
        let (host, repository) = normalized.split_once('/')?;
        let host = if host == "docker.io" {
            DOCKER_HUB_API
        } else {
            host
        };
        Some(ManifestAt {
            host: host.to_string(),
            repository: repository.to_string(),
            reference,
        })
    }

    /// The registry as people name it: `docker.io` for Docker Hub.
    pub fn registry(&self) -> &str {
        if self.host == DOCKER_HUB_API {
            "docker.io"
        } else {
            &self.host
        }
    }

    /// The path of the manifest under the registry's root.
    pub fn path(&self) -> String {
        format!("/v2/{}/manifests/{}", self.repository, self.reference)
    }

    /// The scope a token for reading it is asked with.
    pub fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(image: &str) -> Option<ManifestAt> {
        ManifestAt::of(&ImageRef::parse(image).unwrap())
    }

    #[test]
    fn docker_hub_names_are_asked_as_the_cluster_asks_them() {
        let nginx = at("nginx:1.27").unwrap();
        assert_eq!(
            (
                nginx.host.as_str(),
                nginx.repository.as_str(),
                nginx.reference.as_str()
            ),
            ("registry-1.docker.io", "library/nginx", "1.27")
        );
        assert_eq!(nginx.registry(), "docker.io");
        assert_eq!(nginx.path(), "/v2/library/nginx/manifests/1.27");
        assert_eq!(
            at("docker.io/bitnami/redis:7").unwrap().repository,
            "bitnami/redis"
        );
        let own = at("registry.internal:5000/team/api:2.0").unwrap();
        assert_eq!(own.host, "registry.internal:5000");
        assert_eq!(own.pull_scope(), "repository:team/api:pull");
    }

    #[test]
    fn a_digest_is_checked_by_digest() {
        let d = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let pinned = at(&format!("ghcr.io/acme/api:1.4.0@{d}")).unwrap();
        assert_eq!(pinned.reference, d);
        assert_eq!(
            at("ghcr.io/acme/api"),
            None,
            "nothing to check without a version"
        );
    }
}
