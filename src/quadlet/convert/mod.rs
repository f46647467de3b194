//! One converter per kind, plus what they share. Each converter is a pure function of the
//! source unit and the cross-unit table ([`Ctx`]); nothing here touches the filesystem except
//! `AddDevice=-/optional` (Quadlet checks the host path at generation time).

pub mod artifact;
pub mod build;
pub mod common;
pub mod compat;
pub mod container;
pub mod image;
pub mod kube;
pub mod names;
pub mod network;
pub mod pod;
pub mod volume;

use std::collections::HashMap;

use crate::engine::Version;
use crate::quadlet::{ConvertError, Kind, Service, Settings, Source};
use crate::unit::UnitFile;

/// What other units may learn about a unit (Quadlet's `UnitInfo`).
#[derive(Debug, Clone)]
pub struct UnitInfo {
    pub kind: Kind,
    /// Service name without `.service`.
    pub service_base: String,
    /// The podman object name, once known (networks and volumes: after they converted).
    pub resource_name: Option<String>,
    /// Service file names of containers to start with this pod.
    pub containers_to_start: Vec<String>,
}

impl UnitInfo {
    pub fn service_file_name(&self) -> String {
        format!("{}.service", self.service_base)
    }
}

/// The conversion context: settings and the table of all units by file name.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub units: HashMap<String, UnitInfo>,
    /// The target Podman, when known.
    pub podman_version: Option<Version>,
}

/// The first Podman with `podman network create --ignore` / `volume create --ignore`.
pub const CREATE_IGNORE: Version = Version::new(4, 4, 0);

impl Ctx<'_> {
    /// Whether `network create --ignore`/`volume create --ignore` may be used.
    pub fn create_ignore(&self) -> bool {
        self.podman_version.is_some_and(|v| v >= CREATE_IGNORE)
    }
}

/// What a converter produces before it is wrapped into a [`Service`].
pub struct Converted {
    pub unit: UnitFile,
    pub warnings: Vec<String>,
}

/// See [`crate::quadlet::convert_all`].
pub fn convert_all(
    sources: &[Source],
    settings: &Settings,
    podman_version: Option<Version>,
) -> Vec<(String, Result<Service, ConvertError>)> {
    let mut out = Vec::with_capacity(sources.len());
    convert_each(sources, settings, podman_version, |name, result| {
        out.push((name.to_string(), result))
    });
    out
}

/// See [`crate::quadlet::convert_each`].
pub fn convert_each(
    sources: &[Source],
    settings: &Settings,
    podman_version: Option<Version>,
    mut each: impl FnMut(&str, Result<Service, ConvertError>),
) {
    let mut ctx = Ctx {
        settings,
        units: HashMap::new(),
        podman_version,
    };
    let mut order: Vec<(usize, Kind)> = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let Some(kind) = Kind::from_file_name(&src.file_name) else {
            continue;
        };
        // Resource names of networks, volumes, images and artifacts become known only when
        // they convert, so a reference to one that failed reports that (as Quadlet does).
        // A build's is known up front: `[Volume] Image=x.build` and `[Build] Volume=y.volume`
        // may point at each other.
        let resource_name = match kind {
            Kind::Container | Kind::Pod => {
                names::resource_name_in(&ctx, kind, &src.file_name, &src.unit)
            }
            Kind::Build => build::resource_name(&src.unit),
            _ => None,
        };
        let service_base = names::service_base_in(&ctx, &src.file_name, &src.unit);
        ctx.units.insert(
            src.file_name.clone(),
            UnitInfo {
                kind,
                service_base,
                resource_name,
                containers_to_start: Vec::new(),
            },
        );
        order.push((i, kind));
    }
    // Stable sort: equal ranks keep the caller's (search-path) order, fixed from run to run.
    order.sort_by_key(|(_, k)| k.rank());

    for (i, kind) in order {
        let Some(src) = sources.get(i) else { continue };
        let upholds_links = !ctx.quadlet_before(compat::UPHELD_BY);
        let result = convert_one(src, kind, &mut ctx).map(|c| Service {
            source_file_name: src.file_name.clone(),
            service_name: names::service_base_in(&ctx, &src.file_name, &src.unit) + ".service",
            unit: compat::older_quoting(c.unit, &ctx),
            warnings: common::service_key_warnings(&src.unit)
                .into_iter()
                .chain(c.warnings)
                .chain(compat::ignored_install_keys(&src.unit, &ctx))
                .chain(compat::translated_dependencies(&src.unit, &ctx))
                .collect(),
            upholds_links,
        });
        if result.is_ok() {
            let name = match kind {
                Kind::Network | Kind::Volume => {
                    names::resource_name_in(&ctx, kind, &src.file_name, &src.unit)
                }
                Kind::Image => image::resource_name(&src.unit),
                Kind::Artifact => artifact::resource_name(&src.unit),
                _ => None,
            };
            if let (Some(name), Some(info)) = (name, ctx.units.get_mut(&src.file_name)) {
                info.resource_name = Some(name);
            }
        }
        each(&src.file_name, result);
    }
}

fn convert_one(src: &Source, kind: Kind, ctx: &mut Ctx) -> Result<Converted, ConvertError> {
    match kind {
        Kind::Kube => kube::convert(src, ctx),
        Kind::Network => network::convert(src, ctx),
        Kind::Volume => volume::convert(src, ctx),
        Kind::Container => container::convert(src, ctx),
        Kind::Pod => pod::convert(src, ctx),
        Kind::Image => image::convert(src, ctx),
        Kind::Build => build::convert(src, ctx),
        Kind::Artifact => artifact::convert(src, ctx),
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use std::path::Path;

    pub fn settings(user: bool) -> Settings {
        Settings {
            user,
            podman: "/usr/bin/podman".into(),
            quadplay: "/usr/bin/quadplay".into(),
        }
    }

    pub fn source(name: &str, text: &str) -> Source {
        let path = Path::new("/etc/containers/systemd").join(name);
        Source {
            file_name: name.to_string(),
            unit: UnitFile::parse(&path, text).unwrap(),
        }
    }

    /// Converts `files` and returns the result for `name`: rendered text or error message.
    pub fn convert_named(files: &[(&str, &str)], name: &str, user: bool) -> Result<String, String> {
        let sources: Vec<Source> = files.iter().map(|(n, t)| source(n, t)).collect();
        let s = settings(user);
        let results = convert_all(&sources, &s, None);
        let (_, r) = results
            .into_iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("no result for {name}"))?;
        r.map(|svc| svc.unit.render()).map_err(|e| e.to_string())
    }

    /// Converts for the Podman whose Quadlet quadplay follows (5.8.2: `create --ignore`).
    pub fn convert_modern(name: &str, text: &str) -> Result<String, String> {
        convert_for(name, text, Version::new(5, 8, 2))
    }

    /// Converts one file for Podman `v`.
    pub fn convert_for(name: &str, text: &str, v: Version) -> Result<String, String> {
        let sources = [source(name, text)];
        let results = convert_all(&sources, &settings(false), Some(v));
        let (_, r) = results.into_iter().next().ok_or("no result")?;
        r.map(|svc| svc.unit.render()).map_err(|e| e.to_string())
    }

    pub fn convert1(name: &str, text: &str) -> Result<String, String> {
        convert_named(&[(name, text)], name, false)
    }

    /// The file a converter's tests mostly convert: `name`, whose text starts with `head`
    /// (the keys every test needs) and goes on with what the test is about.
    pub struct Base {
        pub name: &'static str,
        pub head: &'static str,
    }

    impl Base {
        /// Converts the file with `more` after the head.
        pub fn convert(&self, more: &str) -> Result<String, String> {
            convert1(self.name, &format!("{}{more}", self.head))
        }

        /// Asserts that the file with `more` after the head fails with an error ending in `suffix`.
        #[track_caller]
        pub fn fails_with(&self, more: &str, suffix: &str) {
            assert_fails_with(self.name, &format!("{}{more}", self.head), suffix);
        }
    }

    /// Asserts that converting `name` alone fails with an error ending in `suffix`
    /// (the file, line and key come first).
    #[track_caller]
    pub fn assert_fails_with(name: &str, text: &str, suffix: &str) {
        match convert1(name, text) {
            Ok(out) => panic!("{name} converted; expected an error ending {suffix:?}:\n{out}"),
            Err(e) => assert!(e.ends_with(suffix), "{e}"),
        }
    }

    /// The value of the last `key=` line of a rendered unit.
    pub fn line<'a>(rendered: &'a str, key: &str) -> Option<&'a str> {
        let prefix = format!("{key}=");
        rendered
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .next_back()
    }

    pub fn lines<'a>(rendered: &'a str, key: &str) -> Vec<&'a str> {
        let prefix = format!("{key}=");
        rendered
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{settings, source};
    use super::*;
    use std::path::Path;

    #[test]
    fn create_ignore_from_podman_4_4() {
        let s = settings(false);
        let ctx = |v| Ctx {
            settings: &s,
            units: HashMap::new(),
            podman_version: v,
        };
        assert!(!ctx(None).create_ignore());
        assert!(!ctx(Version::parse("podman version 4.3.1")).create_ignore());
        assert!(ctx(Version::parse("4.4.0")).create_ignore());
        assert!(ctx(Version::parse("5.0.0-rc1")).create_ignore());
    }

    #[test]
    fn results_come_in_processing_order() {
        let sources = [
            source("p.pod", "[Pod]\n"),
            source("a.kube", "[Kube]\nYaml=a\n"),
            source("c.container", "[Container]\nImage=localhost/x\n"),
            source("n.network", ""),
            source("v.volume", ""),
            source("x.image", "[Image]\nImage=localhost/x\n"),
        ];
        let names: Vec<String> = convert_all(&sources, &settings(false), None)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "x.image",
                "n.network",
                "v.volume",
                "a.kube",
                "c.container",
                "p.pod"
            ]
        );
    }

    #[test]
    fn errors_in_dropins_point_at_the_dropin() {
        let mut src = source("a.kube", "[Kube]\nYaml=a.yml\n");
        let dropin = UnitFile::parse(
            Path::new("/etc/containers/systemd/a.kube.d/10-x.conf"),
            "[Kube]\n\nTypo=1\n",
        )
        .unwrap();
        src.unit.merge(&dropin);
        let r = convert_all(&[src], &settings(false), None);
        let err = r[0].1.as_ref().unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/containers/systemd/a.kube.d/10-x.conf:3: Typo: unsupported key 'Typo' in group 'Kube'"
        );
    }

    #[test]
    fn service_file_names() {
        let u = UnitFile::new(Path::new("/x"));
        assert_eq!(
            crate::quadlet::service_file_name("web.container", &u),
            "web.service"
        );
        assert_eq!(
            crate::quadlet::service_file_name("d@.volume", &u),
            "d-volume@.service"
        );
        let named = UnitFile::parse(Path::new("/x"), "[Kube]\nServiceName=app\n").unwrap();
        assert_eq!(
            crate::quadlet::service_file_name("a.kube", &named),
            "app.service"
        );
    }
}

/// No input may panic the conversion: mutate the golden inputs at random (seeded, so failures
/// reproduce) and convert every variant; whatever converts must render to a file that parses.
#[cfg(test)]
mod robustness {
    use super::testutil::settings;
    use super::*;
    use std::path::Path;

    const TOKENS: &[&str] = &[
        "\\",
        "\"",
        "'",
        "=",
        "[",
        "]",
        "\n",
        "%",
        "%%",
        ":",
        "@",
        " ",
        "\t",
        "\\x",
        "\\u12",
        "\\777",
        ",",
        "type=",
        "src=",
        ".network",
        ".volume",
        ".pod",
        ".container",
        "\\\n",
        "é",
        "\0",
        "\r",
        "#",
        "-",
        "=\n",
        "/",
        "./",
        "..",
        "Yaml=",
        "Image=",
        "Pod=x.pod",
        "Network=",
        "Volume=",
        "Mount=",
        "RemapUsers=",
        "[Service]\nType=",
        "[Unit]\nAfter=",
    ];

    /// A tiny deterministic generator (no dependency needed for a test).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    fn corpus() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut out = Vec::new();
        let Ok(cases) = std::fs::read_dir(&root) else {
            return out;
        };
        for case in cases.flatten() {
            let Ok(files) = std::fs::read_dir(case.path().join("input")) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if Kind::from_file_name(&name).is_none() {
                    continue;
                }
                if let Ok(text) = std::fs::read_to_string(f.path()) {
                    out.push((name, text));
                }
            }
        }
        out.sort();
        out
    }

    fn mutate(text: &str, rng: &mut Lcg) -> String {
        let mut s: Vec<char> = text.chars().collect();
        for _ in 0..1 + rng.next(4) {
            let at = rng.next(s.len() + 1);
            match rng.next(3) {
                0 => {
                    let end = (at + rng.next(8)).min(s.len());
                    s.drain(at..end);
                }
                _ => {
                    let t = TOKENS[rng.next(TOKENS.len())];
                    for (i, c) in t.chars().enumerate() {
                        s.insert((at + i).min(s.len()), c);
                    }
                }
            }
        }
        s.into_iter().collect()
    }

    #[test]
    fn mutated_inputs_never_panic_and_output_reparses() {
        let corpus = corpus();
        assert!(
            corpus.len() > 50,
            "golden corpus not found ({} files)",
            corpus.len()
        );
        let mut rng = Lcg(0x5eed);
        let mut converted = 0;
        for round in 0..60 {
            let sources: Vec<Source> = corpus
                .iter()
                .map(|(name, text)| {
                    let text = if round == 0 {
                        text.clone()
                    } else {
                        mutate(text, &mut rng)
                    };
                    let path = Path::new("/q").join(name);
                    let unit =
                        UnitFile::parse(&path, &text).unwrap_or_else(|_| UnitFile::new(&path));
                    Source {
                        file_name: name.clone(),
                        unit,
                    }
                })
                .collect();
            for user in [false, true] {
                for (name, r) in convert_all(&sources, &settings(user), None) {
                    if let Ok(svc) = r {
                        converted += 1;
                        let text = svc.unit.render();
                        let again = UnitFile::parse(Path::new("/out"), &text);
                        assert!(
                            again.is_ok(),
                            "{name}: output does not parse: {again:?}\n{text}"
                        );
                    }
                }
            }
        }
        assert!(converted > 100, "only {converted} conversions succeeded");
    }
}
