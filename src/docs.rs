//! Shell completion scripts, generated from the command-line definition in [`crate::cli`].
//!
//! The man pages are built by `make man` (the `xtask` crate) from their markdown sources in
//! `man/`; this module only checks that quadplay.unit(5) keeps up with the converters.

use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell`, generated from the CLI definition.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "quadplay", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// quadplay.unit(5) documents every key each converter accepts, in that kind's section, so
    /// that a key added to a converter cannot go undocumented.
    #[test]
    fn unit_page_documents_every_converter_key() {
        use crate::quadlet::convert::{container, kube, network, pod, volume};
        let md = include_str!("../man/quadplay.unit.5.md");
        let section = |from: &str, to: &str| {
            let start = md.find(from).unwrap_or(0);
            let end = md[start..].find(to).map_or(md.len(), |e| start + e);
            &md[start..end]
        };
        let kinds: [(&str, &[&str], &str, &str); 5] = [
            ("kube", kube::KEYS, "# KUBE UNITS", "# CONTAINER UNITS"),
            (
                "container",
                container::KEYS,
                "# CONTAINER UNITS",
                "# NETWORK UNITS",
            ),
            (
                "network",
                network::KEYS,
                "# NETWORK UNITS",
                "# VOLUME UNITS",
            ),
            ("volume", volume::KEYS, "# VOLUME UNITS", "# POD UNITS"),
            ("pod", pod::KEYS, "# POD UNITS", "# EXAMPLES"),
        ];
        for (kind, keys, from, to) in kinds {
            assert!(
                md.contains(from) && md.contains(to) && !keys.is_empty(),
                "{kind}"
            );
            let text = section(from, to);
            let missing: Vec<&&str> = keys
                .iter()
                .filter(|k| !text.contains(&format!("**{k}=**")))
                .collect();
            assert!(
                missing.is_empty(),
                "{kind} keys missing from quadplay.unit(5): {missing:?}"
            );
        }
    }

    #[test]
    fn completions_name_the_subcommands() {
        let bash = String::from_utf8(completions(clap_complete::Shell::Bash)).unwrap_or_default();
        assert!(bash.contains("auto-update") && bash.contains("--exit-code-propagation"));
        let fish = String::from_utf8(completions(clap_complete::Shell::Fish)).unwrap_or_default();
        assert!(fish.contains("complete -c quadplay"));
    }
}
