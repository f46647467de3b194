//! systemd's rules for unit names, checked before any name becomes a file name.
//!
//! The generator runs as root at every boot and turns values from unit files (`ServiceName=`,
//! `Alias=`, `WantedBy=`, `DefaultInstance=`, the file's own name) into file and symlink names
//! in its output directory. A name systemd would accept can never contain `/` or be `..`, so
//! checking each name as systemd does (`unit_name_is_valid()` and `unit_instance_is_valid()` in
//! systemd's `src/basic/unit-name.c`; this is our own code after its documented rules) both
//! keeps every file inside the output directory and refuses, with the rule, names systemd would
//! not load anyway.

/// systemd's `UNIT_NAME_MAX`: a name must be shorter (at most 255 bytes).
pub const UNIT_NAME_MAX: usize = 256;

/// The unit types systemd knows (`unit_type_from_string`).
pub const UNIT_TYPES: [&str; 11] = [
    "service",
    "mount",
    "swap",
    "socket",
    "target",
    "device",
    "automount",
    "timer",
    "path",
    "slice",
    "scope",
];

/// Which forms of a name are acceptable (systemd's `UnitNameFlags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `foo.service`
    Plain,
    /// `foo@bar.service`
    Instance,
    /// `foo@.service`
    Template,
}

/// What a valid unit name is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName<'a> {
    /// Before the `@`, or before the suffix when there is no `@`.
    pub prefix: &'a str,
    /// After the first `@` (empty for a template), `None` for a plain name.
    pub instance: Option<&'a str>,
    /// The unit type, without the dot (`service`).
    pub suffix: &'a str,
}

impl UnitName<'_> {
    pub fn form(&self) -> Form {
        match self.instance {
            None => Form::Plain,
            Some("") => Form::Template,
            Some(_) => Form::Instance,
        }
    }
}

/// A character systemd allows in a unit name's prefix (`VALID_CHARS`; `@` separately).
fn is_valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '\\')
}

/// Checks `name` as systemd's `unit_name_is_valid(name, UNIT_NAME_ANY)` does; the error says
/// which rule it breaks.
pub fn parse(name: &str) -> Result<UnitName<'_>, String> {
    if name.is_empty() {
        return Err("a unit name cannot be empty".into());
    }
    if name.len() >= UNIT_NAME_MAX {
        return Err(format!(
            "unit name is {} bytes long; systemd allows at most {}",
            name.len(),
            UNIT_NAME_MAX - 1
        ));
    }
    let dot = match name.rfind('.') {
        Some(dot) if dot > 0 => dot,
        _ => return Err(format!("“{name}” has no name before its type suffix")),
    };
    let (stem, suffix) = (&name[..dot], &name[dot + 1..]);
    if !UNIT_TYPES.contains(&suffix) {
        return Err(format!(
            "“{name}” does not end in a unit type (.{})",
            UNIT_TYPES.join(", .")
        ));
    }
    if let Some(bad) = stem.chars().find(|&c| c != '@' && !is_valid_char(c)) {
        return Err(format!(
            "“{}” contains {bad:?}: systemd allows only ASCII letters, digits and \":-_.\\@\" in unit names",
            name.escape_debug()
        ));
    }
    let (prefix, instance) = match stem.split_once('@') {
        Some(("", _)) => return Err(format!("“{name}” has nothing before its \"@\"")),
        Some((prefix, instance)) => (prefix, Some(instance)),
        None => (stem, None),
    };
    Ok(UnitName {
        prefix,
        instance,
        suffix,
    })
}

/// Checks an instance name as systemd's `unit_instance_is_valid()` (non-empty, unit-name
/// characters and `@`).
pub fn check_instance(instance: &str) -> Result<(), String> {
    if instance.is_empty() {
        return Err("an instance name cannot be empty".into());
    }
    match instance.chars().find(|&c| c != '@' && !is_valid_char(c)) {
        None => Ok(()),
        Some(bad) => Err(format!(
            "instance “{}” contains {bad:?}: systemd allows only ASCII letters, digits and \":-_.\\@\"",
            instance.escape_debug()
        )),
    }
}

/// An alias must name the same type in the same form as the unit, and an instance's alias the
/// same instance (systemd's `unit_validate_alias_symlink_or_warn()`).
pub fn check_alias(unit: &str, alias: &str) -> Result<(), String> {
    let target = parse(unit)?;
    let link = parse(alias)?;
    if target.suffix != link.suffix {
        return Err(format!(
            "alias “{alias}” is a .{} but {unit} is a .{}",
            link.suffix, target.suffix
        ));
    }
    match (target.form(), link.form()) {
        (Form::Instance, Form::Instance) if target.instance != link.instance => Err(format!(
            "alias “{alias}” of the instance {unit} must have the same instance"
        )),
        (a, b) if a != b => Err(format!(
            "alias “{alias}” must be {} like {unit}",
            form_name(a)
        )),
        _ => Ok(()),
    }
}

fn form_name(form: Form) -> &'static str {
    match form {
        Form::Plain => "a plain name (no \"@\")",
        Form::Instance => "an instance (name@instance)",
        Form::Template => "a template (name@)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_in_every_form() {
        let n = parse("web.service").unwrap();
        assert_eq!((n.prefix, n.instance, n.form()), ("web", None, Form::Plain));
        let t = parse("db@.service").unwrap();
        assert_eq!(t.form(), Form::Template);
        let i = parse("db@a@b.timer").unwrap();
        assert_eq!((i.prefix, i.instance), ("db", Some("a@b")));
        assert!(parse("a-b_c:d\\x2d.e.target").is_ok());
        assert!(parse(&format!("{}.service", "x".repeat(247))).is_ok());
    }

    #[test]
    fn invalid_names_say_which_rule() {
        let e = |n: &str| parse(n).unwrap_err();
        assert!(e("").contains("empty"));
        assert!(e("../etc/x.service").contains("contains '/'"));
        assert!(e("a b.service").contains("contains ' '"));
        assert!(e("a%n.service").contains("contains '%'"));
        assert!(e("x.container").contains("does not end in a unit type"));
        assert!(e("service").contains("no name before"));
        assert!(e(".service").contains("no name before"));
        assert!(e("@x.service").contains("nothing before"));
        assert!(e("naïve.service").contains("'ï'"));
        assert!(e(&format!("{}.service", "x".repeat(248))).contains("at most 255"));
        assert!(e("a\nb.service").contains("'\\n'"));
    }

    #[test]
    fn instances() {
        assert!(check_instance("blue").is_ok());
        assert!(check_instance("a@b:c").is_ok());
        assert!(check_instance("").is_err());
        assert!(check_instance("../../x").unwrap_err().contains("'/'"));
        assert!(check_instance("%i").is_err());
    }

    #[test]
    fn aliases_keep_type_form_and_instance() {
        assert!(check_alias("web.service", "www.service").is_ok());
        assert!(check_alias("t@.service", "u@.service").is_ok());
        assert!(check_alias("t@a.service", "u@a.service").is_ok());
        assert!(check_alias("web.service", "www.socket")
            .unwrap_err()
            .contains("is a .socket"));
        assert!(check_alias("web.service", "w@.service")
            .unwrap_err()
            .contains("plain name"));
        assert!(check_alias("t@.service", "u.service")
            .unwrap_err()
            .contains("template"));
        assert!(check_alias("t@a.service", "u@b.service")
            .unwrap_err()
            .contains("same instance"));
        assert!(check_alias("web.service", "dir/www.service").is_err());
    }
}
