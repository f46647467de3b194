//! `[Install]` → symlinks in the generator's output dir, as `systemctl enable` would make them.
//!
//! A generator cannot call `systemctl enable`; Quadlet instead writes the `.wants/`,
//! `.requires/`, `.upholds/` and `Alias=` links itself, next to the generated service
//! (reference §1.10). This module decides the links; `output` creates them (failures logged, not
//! errors, as upstream). A value that is not a unit name systemd accepts (`Alias=../x.service`,
//! `DefaultInstance=../../y`) is an error of the unit, found before anything of it is written.

use std::path::{Component, Path, PathBuf};

use crate::unit::name::{self, Form};
use crate::unit::{UnitFile, Value};

/// What a unit's `[Install]` group asks for (values already split into words, with origins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Install {
    pub alias: Vec<Value>,
    pub wanted_by: Vec<Value>,
    pub required_by: Vec<Value>,
    pub upheld_by: Vec<Value>,
    /// `DefaultInstance=` (the last one; empty means none).
    pub default_instance: Option<Value>,
}

impl Install {
    /// The `[Install]` group of a generated service.
    pub fn of(unit: &UnitFile) -> Install {
        let words = |key| unit.lookup_all_strv_values("Install", key);
        Install {
            alias: words("Alias"),
            wanted_by: words("WantedBy"),
            required_by: words("RequiredBy"),
            upheld_by: words("UpheldBy"),
            default_instance: unit
                .lookup_last("Install", "DefaultInstance")
                .filter(|v| !v.value.trim().is_empty())
                .map(|v| Value {
                    value: unit
                        .lookup("Install", "DefaultInstance")
                        .unwrap_or_default(),
                    origin: v.origin.clone(),
                }),
        }
    }
}

/// One symlink: `path` (relative to the output dir) → `target` (relative to the link's dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub path: PathBuf,
    pub target: PathBuf,
}

/// The links for the service file `service` (e.g. `web.service`, `db@.service`), or the first
/// value that is not a name systemd accepts, as `path:line: Key: what is wrong`.
///
/// Every name is checked as systemd checks unit names, so no link can leave the output dir:
/// `Alias=` must be a unit name of the same type and form, `WantedBy=`/`RequiredBy=`/
/// `UpheldBy=` unit names, `DefaultInstance=` a valid instance.
pub fn links(service: &str, install: &Install) -> Result<Vec<Link>, String> {
    let located = |v: &Value, key: &str, why: String| format!("{}: {key}: {why}", v.origin);
    let mut paths = Vec::new();
    for alias in &install.alias {
        name::check_alias(service, &alias.value).map_err(|why| located(alias, "Alias", why))?;
        paths.push(PathBuf::from(&alias.value));
    }
    let kinds = [
        (&install.wanted_by, "WantedBy", "wants"),
        (&install.required_by, "RequiredBy", "requires"),
        (&install.upheld_by, "UpheldBy", "upholds"),
    ];
    for (targets, key, _) in kinds {
        for t in targets {
            name::parse(&t.value).map_err(|why| located(t, key, why))?;
        }
    }
    if let Some(enabled) = enabled_name(service, install)? {
        for (targets, _, suffix) in kinds {
            for target in targets {
                paths.push(PathBuf::from(format!("{}.{suffix}", target.value)).join(&enabled));
            }
        }
    }
    Ok(paths
        .into_iter()
        .map(|path| {
            let depth = path.components().count().saturating_sub(1);
            let mut target: PathBuf = std::iter::repeat("..").take(depth).collect();
            target.push(service);
            Link { path, target }
        })
        .collect())
}

/// The name the `.wants/` links carry: the service itself, or for a bare template
/// `base@.service` its `DefaultInstance` (`base@I.service`); `None` when a bare template has
/// no default instance, which systemd could not enable either.
fn enabled_name(service: &str, install: &Install) -> Result<Option<String>, String> {
    let unit = name::parse(service)?;
    if unit.form() != Form::Template {
        return Ok(Some(service.to_string()));
    }
    let Some(instance) = &install.default_instance else {
        return Ok(None);
    };
    let located = |why: String| format!("{}: DefaultInstance: {why}", instance.origin);
    name::check_instance(&instance.value).map_err(located)?;
    let enabled = format!("{}@{}.{}", unit.prefix, instance.value, unit.suffix);
    name::parse(&enabled).map_err(located)?;
    Ok(Some(enabled))
}

/// `rel` under `out_dir`, if it is a plain relative path (no `..`, no root) of at most `depth`
/// components: the last guard before anything is written, removed or linked.
pub fn confined(out_dir: &Path, rel: &Path, depth: usize) -> std::io::Result<PathBuf> {
    let parts: Vec<Component> = rel.components().collect();
    let plain = parts.iter().all(|c| matches!(c, Component::Normal(_)));
    if !plain || parts.is_empty() || parts.len() > depth {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "refusing to write {} outside the output directory",
                rel.display()
            ),
        ));
    }
    Ok(out_dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::Origin;
    use std::sync::Arc;

    fn words(list: &[&str]) -> Vec<Value> {
        list.iter().map(|s| value(s)).collect()
    }

    fn value(s: &str) -> Value {
        Value {
            value: s.to_string(),
            origin: Origin {
                path: Arc::from(Path::new("/u/x.kube")),
                line: 7,
            },
        }
    }

    fn show(links: &[Link]) -> Vec<String> {
        links
            .iter()
            .map(|l| format!("{} -> {}", l.path.display(), l.target.display()))
            .collect()
    }

    #[test]
    fn wants_requires_upholds_and_aliases() {
        let install = Install {
            alias: words(&["a.service", "b.service"]),
            wanted_by: words(&["default.target", "multi-user.target"]),
            required_by: words(&["app.target"]),
            upheld_by: words(&["other.service"]),
            default_instance: None,
        };
        assert_eq!(
            show(&links("install.service", &install).unwrap()),
            [
                "a.service -> install.service",
                "b.service -> install.service",
                "default.target.wants/install.service -> ../install.service",
                "multi-user.target.wants/install.service -> ../install.service",
                "app.target.requires/install.service -> ../install.service",
                "other.service.upholds/install.service -> ../install.service",
            ]
        );
    }

    #[test]
    fn bare_templates_need_a_default_instance_except_for_aliases() {
        let mut install = Install {
            alias: words(&["t-alias@.service"]),
            wanted_by: words(&["default.target"]),
            ..Install::default()
        };
        let without = links("t-volume@.service", &install).unwrap();
        assert_eq!(show(&without), ["t-alias@.service -> t-volume@.service"]);
        install.default_instance = Some(value("one"));
        assert_eq!(
            show(&links("t-volume@.service", &install).unwrap()),
            [
                "t-alias@.service -> t-volume@.service",
                "default.target.wants/t-volume@one.service -> ../t-volume@.service",
            ]
        );
        // Instances are enabled under their own name.
        install.alias = words(&["u@two.service"]);
        assert_eq!(
            show(&links("t@two.service", &install).unwrap())[1],
            "default.target.wants/t@two.service -> ../t@two.service"
        );
    }

    #[test]
    fn names_systemd_refuses_are_errors_with_their_origin() {
        let fails = |install: Install, service: &str| links(service, &install).unwrap_err();
        let alias = |a: &str| Install {
            alias: words(&[a]),
            ..Install::default()
        };
        for bad in [
            "../escape.service",
            "a/../../b.service",
            ".",
            "in/a/dir/x.service",
        ] {
            let e = fails(alias(bad), "x.service");
            assert!(e.starts_with("/u/x.kube:7: Alias: "), "{e}");
        }
        assert!(fails(alias("x.socket"), "x.service").contains("is a .socket"));
        let wanted = Install {
            wanted_by: words(&["../../etc/systemd/system/multi-user.target"]),
            ..Install::default()
        };
        assert!(fails(wanted, "x.service").starts_with("/u/x.kube:7: WantedBy: "));
        let upheld = Install {
            upheld_by: words(&["some/path.target"]),
            ..Install::default()
        };
        assert!(fails(upheld, "x.service").starts_with("/u/x.kube:7: UpheldBy: "));
        let instance = Install {
            wanted_by: words(&["default.target"]),
            default_instance: Some(value("../../../tmp/evil")),
            ..Install::default()
        };
        let e = fails(instance, "t@.service");
        assert!(
            e.starts_with("/u/x.kube:7: DefaultInstance: instance"),
            "{e}"
        );
        let long = Install {
            wanted_by: words(&["default.target"]),
            default_instance: Some(value(&"i".repeat(250))),
            ..Install::default()
        };
        assert!(fails(long, "t@.service").contains("at most 255"));
    }

    #[test]
    fn confined_refuses_every_way_out() {
        let out = Path::new("/run/gen");
        assert!(confined(out, Path::new("a.service"), 1).is_ok());
        assert!(confined(out, Path::new("d.target.wants/a.service"), 2).is_ok());
        for bad in ["../a", "/etc/a", "a/../../b", "", ".", "a/b/c"] {
            assert!(confined(out, Path::new(bad), 2).is_err(), "{bad}");
        }
    }
}
