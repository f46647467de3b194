//! Loading a compose project as compose-go (docker compose v2) does, before anything is
//! translated: read each `-f` file (regular files only, bounded), interpolate it with the
//! environment and the `.env` file (or `--env-file`), pull in `include:`, resolve `extends:`
//! (same file or `file:`), merge the files in order, pick the services the active profiles
//! enable, and name the project.
//!
//! Relative paths (bind sources, `env_file`, `build`, secret and config files) are made
//! absolute against the directory of the file that wrote them, so a service taken from another
//! file through `extends` or `include` keeps pointing where its author meant.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::interpolate::{self, Vars};
use super::merge::merge;
use super::tree::{self, At, Entry, Item, Node};
use super::{dotenv, ComposeError};

/// What the user asked for: `-f` files (at least one), `--env-file`s, `--profile`s, `--name`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub files: Vec<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    pub name: Option<String>,
}

/// The loaded project: one merged tree, the files its positions point into, the variables.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// Directory of the first file: the project directory.
    pub dir: PathBuf,
    /// Every file read, indexed by `At::file`.
    pub files: Vec<PathBuf>,
    pub root: Item,
    /// The environment and `.env` variables (the environment winning): what `env_file`s and
    /// bare `environment:` names read.
    pub env: BTreeMap<String, String>,
    pub vars_used: BTreeMap<String, &'static str>,
    /// Services left out because no active profile enables them.
    pub disabled: Vec<String>,
}

/// Largest compose or env file read (a vendor's biggest compose file is well under 1 MiB).
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// Deepest chain of `include:` / `extends: file:` followed.
const MAX_NESTING: usize = 32;

/// Reads a regular file of at most `limit` bytes as UTF-8. A FIFO, a device or a directory is
/// refused without blocking (opened non-blocking, checked before reading).
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > limit {
        return Err(std::io::Error::other(format!(
            "larger than the {} MiB limit",
            limit >> 20
        )));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than the {} MiB limit",
            limit >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("not UTF-8 text"))
}

/// One `include:` entry: its files, project directory and env files.
type Include = (Vec<PathBuf>, Option<PathBuf>, Vec<PathBuf>);

struct Loader {
    files: Vec<PathBuf>,
    depth: usize,
}

/// Loads the project `opts` describe.
pub fn load(opts: &Options) -> Result<Project, ComposeError> {
    let first = opts
        .files
        .first()
        .ok_or_else(|| ComposeError::Usage("no compose file given".into()))?;
    let dir = absolute_dir(first);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut loader = Loader {
        files: Vec::new(),
        depth: 0,
    };
    let dotenv = loader.dotenv(&dir, &opts.env_files, &env)?;
    let mut vars = Vars {
        env,
        dotenv,
        ..Vars::default()
    };
    let mut root = loader.model(&opts.files, &mut vars)?;
    let setting = |k: &str| vars.env.get(k).or_else(|| vars.dotenv.get(k)).cloned();
    let mut profiles: BTreeSet<String> = opts.profiles.iter().cloned().collect();
    if profiles.is_empty() {
        if let Some(p) = setting("COMPOSE_PROFILES") {
            profiles.extend(
                p.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
    }
    let disabled = select_profiles(&mut root, &profiles);
    let name = project_name(opts, &root, setting("COMPOSE_PROJECT_NAME"), &dir);
    let mut all = vars.dotenv.clone();
    all.extend(vars.env.clone());
    Ok(Project {
        name,
        dir,
        files: loader.files,
        root,
        env: all,
        vars_used: vars.vars_used(),
        disabled,
    })
}

impl Vars {
    fn vars_used(&self) -> BTreeMap<String, &'static str> {
        self.used.clone()
    }
}

/// The project name: `--name`, else `COMPOSE_PROJECT_NAME`, else the top-level `name:`, else the
/// project directory's name.
fn project_name(opts: &Options, root: &Item, env: Option<String>, dir: &Path) -> String {
    opts.name
        .clone()
        .or(env.filter(|s| !s.is_empty()))
        .or_else(|| root.get("name").and_then(|n| n.node.scalar()))
        .unwrap_or_else(|| {
            let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            canonical
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

/// Removes the services no active profile enables (a service without `profiles` always runs;
/// `*` enables all) and returns their names.
fn select_profiles(root: &mut Item, active: &BTreeSet<String>) -> Vec<String> {
    let Some(services) = root.get_mut("services") else {
        return Vec::new();
    };
    let Node::Map(entries) = &mut services.node else {
        return Vec::new();
    };
    let mut disabled = Vec::new();
    entries.retain(|e| {
        let profiles: Vec<String> = match e.value.get("profiles").map(|p| &p.node) {
            Some(Node::Seq(items)) => items.iter().filter_map(|i| i.node.scalar()).collect(),
            Some(Node::Str(s)) => vec![s.clone()],
            _ => return true,
        };
        let on = profiles.is_empty()
            || active.contains("*")
            || profiles.iter().any(|p| active.contains(p));
        if !on {
            disabled.push(e.key.clone());
        }
        on
    });
    disabled
}

impl Loader {
    fn file_index(&mut self, path: &Path) -> u16 {
        let idx = self.files.len();
        self.files.push(path.to_path_buf());
        u16::try_from(idx).unwrap_or(u16::MAX)
    }

    fn invalid(&self, at: At, key: &str, message: impl Into<String>) -> ComposeError {
        ComposeError::Invalid {
            path: self
                .files
                .get(usize::from(at.file))
                .cloned()
                .unwrap_or_default(),
            line: at,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The `.env` of the project directory (or the `--env-file`s, later ones winning).
    fn dotenv(
        &mut self,
        dir: &Path,
        given: &[PathBuf],
        env: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ComposeError> {
        let default = dir.join(".env");
        let (files, required) = if given.is_empty() {
            (vec![default], false)
        } else {
            (given.to_vec(), true)
        };
        let mut out = BTreeMap::new();
        for f in files {
            if !required && !f.exists() {
                continue;
            }
            let text = read_regular(&f, MAX_FILE_BYTES).map_err(|source| ComposeError::Read {
                path: f.clone(),
                source,
            })?;
            let mut scope = out.clone();
            scope.extend(env.clone());
            let pairs = dotenv::parse(&text, &scope).map_err(|e| ComposeError::Invalid {
                path: f.clone(),
                line: At {
                    file: 0,
                    line: u32::try_from(e.line).unwrap_or(u32::MAX),
                    column: 1,
                },
                key: "(env file)".into(),
                message: e.message,
            })?;
            out.extend(pairs);
        }
        Ok(out)
    }

    /// Reads, interpolates and prepares one file: includes pulled in, extends resolved.
    fn file(&mut self, path: &Path, vars: &mut Vars) -> Result<Item, ComposeError> {
        let text = read_regular(path, MAX_FILE_BYTES).map_err(|source| ComposeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let idx = self.file_index(path);
        let mut root = tree::parse(&text, idx).map_err(|e| ComposeError::Yaml {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message,
        })?;
        if !matches!(root.node, Node::Map(_)) {
            return Err(self.invalid(root.line, "(top level)", "a compose file is a mapping"));
        }
        interpolate::tree(&mut root, vars, "")
            .map_err(|(at, key, message)| self.invalid(at, &key, message))?;
        let dir = absolute_dir(path);
        resolve_paths(&mut root, &dir);
        self.includes(&mut root, &dir, vars)?;
        self.extends(&mut root, &dir, vars)?;
        Ok(root)
    }

    /// Several files merged in order (the first is the base).
    fn model(&mut self, files: &[PathBuf], vars: &mut Vars) -> Result<Item, ComposeError> {
        let mut root: Option<Item> = None;
        for f in files {
            let next = self.file(f, vars)?;
            root = Some(match root {
                None => next,
                Some(base) => merge(base, next, ""),
            });
        }
        Ok(root.unwrap_or_else(|| Item::new(Node::Map(Vec::new()))))
    }

    fn nested(&mut self, at: At, key: &str) -> Result<(), ComposeError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.invalid(
                at,
                key,
                format!("more than {MAX_NESTING} nested files (a cycle?)"),
            ));
        }
        Ok(())
    }

    /// `include:` — each entry's project (its own `.env` unless `env_file` is given) adds its
    /// services, volumes, secrets and configs; a name defined twice is an error.
    fn includes(&mut self, root: &mut Item, dir: &Path, vars: &Vars) -> Result<(), ComposeError> {
        let Some(inc) = root.remove("include") else {
            return Ok(());
        };
        let items = match inc.value.node {
            Node::Seq(items) => items,
            _ => return Err(self.invalid(inc.line, "include", "expected a list")),
        };
        for (i, it) in items.into_iter().enumerate() {
            let key = format!("include[{i}]");
            let (paths, project_dir, env_files) = self.include_entry(&it, &key, dir)?;
            self.nested(it.line, &key)?;
            let pdir = project_dir.unwrap_or_else(|| absolute_dir(&paths[0]));
            let dotenv = self.dotenv(&pdir, &env_files, &vars.env)?;
            let mut sub = Vars {
                env: vars.env.clone(),
                dotenv,
                ..Vars::default()
            };
            let model = self.model(&paths, &mut sub)?;
            self.depth -= 1;
            for section in ["services", "volumes", "secrets", "configs"] {
                self.add_section(root, &model, section, it.line)?;
            }
        }
        Ok(())
    }

    fn include_entry(&self, it: &Item, key: &str, dir: &Path) -> Result<Include, ComposeError> {
        let strings = |v: &Item| -> Vec<PathBuf> {
            match &v.node {
                Node::Seq(items) => items
                    .iter()
                    .filter_map(|i| i.node.scalar())
                    .map(|s| dir.join(s))
                    .collect(),
                n => n.scalar().map(|s| vec![dir.join(s)]).unwrap_or_default(),
            }
        };
        let (paths, pdir, envs) = match &it.node {
            Node::Str(s) => (vec![dir.join(s)], None, Vec::new()),
            Node::Map(_) => (
                it.get("path").map(strings).unwrap_or_default(),
                it.get("project_directory")
                    .and_then(|p| p.node.scalar())
                    .map(|p| dir.join(p)),
                it.get("env_file").map(strings).unwrap_or_default(),
            ),
            _ => return Err(self.invalid(it.line, key, "expected a path or a mapping with path:")),
        };
        if paths.is_empty() {
            return Err(self.invalid(it.line, key, "no path"));
        }
        Ok((paths, pdir, envs))
    }

    fn add_section(
        &self,
        root: &mut Item,
        model: &Item,
        section: &str,
        at: At,
    ) -> Result<(), ComposeError> {
        let Some(add) = model.get(section) else {
            return Ok(());
        };
        let Node::Map(root_entries) = &mut root.node else {
            return Ok(());
        };
        if !root_entries.iter().any(|e| e.key == section) {
            root_entries.push(Entry {
                key: section.into(),
                line: at,
                value: Item::new(Node::Map(Vec::new())),
            });
        }
        let target = root.get_mut(section).expect("section just ensured");
        if matches!(target.node, Node::Null) {
            target.node = Node::Map(Vec::new());
        }
        let Node::Map(existing) = &mut target.node else {
            return Ok(());
        };
        for e in add.entries() {
            if let Some(dup) = existing.iter().find(|x| x.key == e.key) {
                return Err(self.invalid(
                    dup.line,
                    &format!("{section}.{}", e.key),
                    format!(
                        "defined here and in the included {} (line {})",
                        self.files
                            .get(usize::from(e.line.file))
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        e.line.line
                    ),
                ));
            }
            existing.push(e.clone());
        }
        Ok(())
    }

    /// Resolves `extends:` for every service of one file.
    fn extends(
        &mut self,
        root: &mut Item,
        dir: &Path,
        vars: &mut Vars,
    ) -> Result<(), ComposeError> {
        let Some(services) = root.get("services").cloned() else {
            return Ok(());
        };
        let mut resolved = services.clone();
        for e in services.entries() {
            let mut stack = Vec::new();
            let svc = self.resolve_extends(&services, &e.key, dir, vars, &mut stack)?;
            if let Some(slot) = resolved.get_mut(&e.key) {
                *slot = svc;
            }
        }
        if let Some(slot) = root.get_mut("services") {
            *slot = resolved;
        }
        Ok(())
    }

    /// One service with its `extends` chain merged in (base first).
    fn resolve_extends(
        &mut self,
        services: &Item,
        name: &str,
        dir: &Path,
        vars: &mut Vars,
        stack: &mut Vec<String>,
    ) -> Result<Item, ComposeError> {
        let Some(svc) = services.get(name) else {
            return Err(ComposeError::Usage(format!("no service {name}")));
        };
        let mut svc = svc.clone();
        let Some(ext) = svc.remove("extends") else {
            return Ok(svc);
        };
        let key = format!("services.{name}.extends");
        let (base_name, file) = match &ext.value.node {
            Node::Str(s) => (s.clone(), None),
            Node::Map(_) => {
                let s = ext
                    .value
                    .get("service")
                    .and_then(|s| s.node.scalar())
                    .ok_or_else(|| {
                        self.invalid(
                            ext.value.line,
                            &key,
                            "no service: name the service to extend",
                        )
                    })?;
                (s, ext.value.get("file").and_then(|f| f.node.scalar()))
            }
            _ => {
                return Err(self.invalid(
                    ext.value.line,
                    &key,
                    "expected a service name or a mapping",
                ))
            }
        };
        let marker = format!("{}:{name}", file.clone().unwrap_or_default());
        if stack.contains(&marker) || stack.len() > MAX_NESTING {
            return Err(self.invalid(ext.line, &key, format!("extends cycle through {base_name}")));
        }
        stack.push(marker);
        let base = match file {
            None => {
                if services.get(&base_name).is_none() {
                    return Err(self.invalid(
                        ext.value.line,
                        &key,
                        format!("service {base_name:?} not found"),
                    ));
                }
                self.resolve_extends(services, &base_name, dir, vars, stack)?
            }
            Some(f) => {
                let path = dir.join(&f);
                self.nested(ext.value.line, &key)?;
                let text = read_regular(&path, MAX_FILE_BYTES).map_err(|e| {
                    self.invalid(ext.value.line, &key, format!("{}: {e}", path.display()))
                })?;
                let idx = self.file_index(&path);
                let mut other = tree::parse(&text, idx).map_err(|e| ComposeError::Yaml {
                    path: path.clone(),
                    line: e.line,
                    message: e.message,
                })?;
                interpolate::tree(&mut other, vars, "")
                    .map_err(|(at, k, m)| self.invalid(at, &k, m))?;
                let odir = absolute_dir(&path);
                resolve_paths(&mut other, &odir);
                let oservices = other
                    .get("services")
                    .cloned()
                    .unwrap_or_else(|| Item::new(Node::Null));
                if oservices.get(&base_name).is_none() {
                    return Err(self.invalid(
                        ext.value.line,
                        &key,
                        format!("service {base_name:?} not found in {}", path.display()),
                    ));
                }
                let b = self.resolve_extends(&oservices, &base_name, &odir, vars, stack)?;
                self.depth -= 1;
                b
            }
        };
        stack.pop();
        Ok(merge(base, svc, &format!("services.{name}")))
    }
}

/// The absolute directory a file is in.
pub fn absolute_dir(path: &Path) -> PathBuf {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    normalize(&std::path::absolute(&dir).unwrap_or(dir))
}

/// Removes `.` and `..` components without touching the file system.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A relative path written in a file, made absolute against the file's directory (`~/` and
/// absolute paths stay).
fn absolute(dir: &Path, p: &str) -> String {
    if p.starts_with('/') || p.starts_with('~') || p.contains("://") {
        return p.to_string();
    }
    normalize(&dir.join(p)).to_string_lossy().into_owned()
}

fn set_str(it: &mut Item, f: impl Fn(&str) -> String) {
    if let Node::Str(s) = &mut it.node {
        *s = f(s);
    }
}

/// Makes the relative paths of one file absolute: bind sources, `env_file`, `build` context,
/// and the top-level secrets' and configs' `file:`.
fn resolve_paths(root: &mut Item, dir: &Path) {
    if let Some(services) = root.get_mut("services") {
        if let Node::Map(entries) = &mut services.node {
            for e in entries {
                service_paths(&mut e.value, dir);
            }
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Item {
            node: Node::Map(entries),
            ..
        }) = root.get_mut(section)
        {
            for e in entries {
                if let Some(f) = e.value.get_mut("file") {
                    set_str(f, |p| absolute(dir, p));
                }
            }
        }
    }
}

fn service_paths(svc: &mut Item, dir: &Path) {
    if let Some(Item {
        node: Node::Seq(vols),
        ..
    }) = svc.get_mut("volumes")
    {
        for v in vols {
            let bind = v.get("type").and_then(|t| t.as_str()) == Some("bind");
            match &mut v.node {
                Node::Str(s) if s.starts_with('.') => {
                    if let Some((src, rest)) = s.split_once(':') {
                        *s = format!("{}:{rest}", absolute(dir, src));
                    }
                }
                Node::Map(_) if bind => {
                    if let Some(src) = v.get_mut("source") {
                        set_str(src, |p| absolute(dir, p));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(ef) = svc.get_mut("env_file") {
        match &mut ef.node {
            Node::Str(_) => set_str(ef, |p| absolute(dir, p)),
            Node::Seq(items) => {
                for it in items {
                    match &it.node {
                        Node::Str(_) => set_str(it, |p| absolute(dir, p)),
                        _ => {
                            if let Some(p) = it.get_mut("path") {
                                set_str(p, |p| absolute(dir, p));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(b) = svc.get_mut("build") {
        match &b.node {
            Node::Str(_) => set_str(b, |p| absolute(dir, p)),
            _ => {
                if let Some(c) = b.get_mut("context") {
                    set_str(c, |p| absolute(dir, p));
                }
            }
        }
    }
}
