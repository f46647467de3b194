//! Auto-update policies and the image-name rules they need.

use std::fmt;

/// The label Quadlet (`AutoUpdate=` in `.container`) and `quadplay play --auto-update` put on containers.
pub use crate::plan::LABEL_AUTOUPDATE as POLICY_LABEL;
/// The label naming the auth file for the registry, as Podman's auto-update reads it.
pub use crate::plan::LABEL_AUTOUPDATE_AUTHFILE as AUTHFILE_LABEL;
/// The label naming the systemd unit that runs the container (set by Podman from the unit's
/// `PODMAN_SYSTEMD_UNIT` environment, and by `quadplay play --unit`).
pub use crate::plan::LABEL_SYSTEMD_UNIT as UNIT_LABEL;

/// How a container is kept up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Compare the registry's manifest digest with the container's image; pull when it differs.
    Registry,
    /// Compare the container's image with the local image of the same name (rebuilt locally).
    Local,
    /// Labelled but switched off (`disabled`, or empty).
    Disabled,
}

impl Policy {
    /// Parse a label value. `image` is Podman's old name for `registry` and is still accepted there.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "registry" | "image" => Ok(Policy::Registry),
            "local" => Ok(Policy::Local),
            "" | "disabled" => Ok(Policy::Disabled),
            other => Err(format!(
                "unknown auto-update policy {other:?} (label {POLICY_LABEL}); expected registry or local"
            )),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Registry => "registry",
            Policy::Local => "local",
            Policy::Disabled => "disabled",
        })
    }
}

/// Check that `image` can be looked up in a registry as it is: a registry host first (something
/// with a dot or a port, or `localhost`), and a tag rather than a digest (a pinned digest never
/// changes, so there is nothing to update to).
pub fn check_registry_reference(image: &str) -> Result<(), String> {
    let Some((first, rest)) = image.split_once('/') else {
        return Err(format!(
            "image {image:?} is not fully qualified (the registry policy needs REGISTRY/NAME:TAG, e.g. quay.io/{image})"
        ));
    };
    let is_host = first.contains('.') || first.contains(':') || first == "localhost";
    if !is_host || rest.is_empty() {
        return Err(format!(
            "image {image:?} is not fully qualified (the registry policy needs REGISTRY/NAME:TAG, e.g. docker.io/{image})"
        ));
    }
    if image.contains('@') {
        return Err(format!(
            "image {image:?} is pinned by digest; the registry policy needs a tag"
        ));
    }
    if image.chars().any(char::is_whitespace) {
        return Err(format!("image {image:?} is not a valid reference"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_unknown_ones_are_named() {
        assert_eq!(Policy::parse("registry"), Ok(Policy::Registry));
        assert_eq!(Policy::parse("image"), Ok(Policy::Registry));
        assert_eq!(Policy::parse("local"), Ok(Policy::Local));
        assert_eq!(Policy::parse("disabled"), Ok(Policy::Disabled));
        assert_eq!(Policy::parse(""), Ok(Policy::Disabled));
        let err = Policy::parse("nightly").unwrap_err();
        assert!(err.contains("\"nightly\""), "{err}");
    }

    #[test]
    fn fully_qualified_references_pass() {
        for ok in [
            "127.0.0.1:5000/demo/app:v1",
            "quay.io/podman/hello",
            "localhost/busybox:latest",
            "registry.example.com/a/b/c:1.2",
        ] {
            assert_eq!(check_registry_reference(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn short_names_and_digests_are_refused_with_the_name() {
        for bad in ["busybox", "library/busybox:latest", "nginx:1.25"] {
            let err = check_registry_reference(bad).unwrap_err();
            assert!(err.contains("not fully qualified"), "{bad}: {err}");
            assert!(err.contains(bad), "{bad}: {err}");
        }
        let err = check_registry_reference("quay.io/a/b@sha256:0123").unwrap_err();
        assert!(err.contains("pinned by digest"), "{err}");
    }
}
