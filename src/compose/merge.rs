//! Merging compose trees as compose-go's `override` package does: for several `-f` files (each
//! later file over the ones before) and for `extends` (the service over its base).
//!
//! Mappings merge key by key; scalars are replaced; `command`, `entrypoint` and
//! `healthcheck.test` are replaced whole; `environment`, `labels`, `annotations`, `sysctls`
//! (lists of `K=V` or mappings) merge by name, the later value winning; `depends_on` and
//! `networks` (lists or mappings) merge by name; `build` (a string is its context) merges as a
//! mapping; `volumes` and `secrets`/`configs` are unique by target (the later entry replaces);
//! other lists are appended without repeating an equal entry (`ports`, `dns`, `cap_add`, ...).

use super::tree::{Entry, Item, Node};

/// Merges `over` into `base` at `path` (`services.web`, `services.web.environment`, ...).
pub fn merge(base: Item, over: Item, path: &str) -> Item {
    let leaf = path.rsplit('.').next().unwrap_or("");
    let in_service = path.starts_with("services.") && path.matches('.').count() == 2;
    if in_service {
        match leaf {
            "command" | "entrypoint" => return over,
            "environment" | "labels" | "annotations" | "sysctls" => {
                return merge_maps(to_map(base, '='), to_map(over, '='), path)
            }
            "depends_on" | "networks" => {
                return merge_maps(to_map(base, '\0'), to_map(over, '\0'), path)
            }
            "build" => return merge_maps(build_map(base), build_map(over), path),
            "volumes" => return unique_by(base, over, volume_target),
            "secrets" | "configs" => return unique_by(base, over, mount_source),
            _ => {}
        }
    }
    if path.ends_with(".healthcheck.test") {
        return over;
    }
    match (base.node, over.node) {
        (Node::Map(b), Node::Map(o)) => merge_maps(
            Item {
                line: base.line,
                node: Node::Map(b),
            },
            Item {
                line: over.line,
                node: Node::Map(o),
            },
            path,
        ),
        (Node::Seq(mut b), Node::Seq(o)) => {
            for it in o {
                if !b.iter().any(|x| x.node == it.node) {
                    b.push(it);
                }
            }
            Item {
                line: base.line,
                node: Node::Seq(b),
            }
        }
        (_, node) => Item {
            line: over.line,
            node,
        },
    }
}

/// Key-by-key merge of two mappings (anything else in `over` replaces `base`).
fn merge_maps(base: Item, over: Item, path: &str) -> Item {
    let (Node::Map(mut entries), Node::Map(others)) = (base.node.clone(), over.node.clone()) else {
        return if matches!(over.node, Node::Null) {
            base
        } else {
            over
        };
    };
    for o in others {
        match entries.iter().position(|e| e.key == o.key) {
            Some(i) => {
                let b = std::mem::replace(&mut entries[i].value, Item::new(Node::Null));
                let p = if path.is_empty() {
                    o.key.clone()
                } else {
                    format!("{path}.{}", o.key)
                };
                entries[i].value = if matches!(o.value.node, Node::Null) && !is_env_like(path) {
                    b
                } else {
                    merge(b, o.value, &p)
                };
            }
            None => entries.push(o),
        }
    }
    Item {
        line: base.line,
        node: Node::Map(entries),
    }
}

fn is_env_like(path: &str) -> bool {
    path.ends_with(".environment") || path.ends_with(".labels")
}

/// A list of `K=V` (or of names, with `sep` `\0`) as a mapping; a mapping stays as it is.
pub fn to_map(item: Item, sep: char) -> Item {
    let Node::Seq(items) = item.node else {
        return item;
    };
    let entries = items
        .into_iter()
        .filter_map(|it| {
            let text = it.node.scalar()?;
            let (k, v) = match text.split_once(sep) {
                Some((k, v)) if sep != '\0' => (k.to_string(), Node::Str(v.to_string())),
                _ => (text, Node::Null),
            };
            Some(Entry {
                key: k,
                line: it.line,
                value: Item {
                    line: it.line,
                    node: v,
                },
            })
        })
        .collect();
    Item {
        line: item.line,
        node: Node::Map(entries),
    }
}

fn build_map(item: Item) -> Item {
    match &item.node {
        Node::Str(s) => Item {
            line: item.line,
            node: Node::Map(vec![Entry {
                key: "context".into(),
                line: item.line,
                value: Item {
                    line: item.line,
                    node: Node::Str(s.clone()),
                },
            }]),
        },
        _ => item,
    }
}

/// Appends `over`'s entries to `base`'s, an entry with the same key replacing the earlier one.
fn unique_by(base: Item, over: Item, key: fn(&Item) -> Option<String>) -> Item {
    let (Node::Seq(mut b), Node::Seq(o)) = (base.node.clone(), over.node.clone()) else {
        return over;
    };
    for it in o {
        let k = key(&it);
        match b.iter().position(|x| k.is_some() && key(x) == k) {
            Some(i) => b[i] = it,
            None => b.push(it),
        }
    }
    Item {
        line: base.line,
        node: Node::Seq(b),
    }
}

/// A service volume's target (`src:/target:ro` or `target:` of the long form).
fn volume_target(it: &Item) -> Option<String> {
    match &it.node {
        Node::Str(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(match parts.as_slice() {
                [t] => t.to_string(),
                [_, t, ..] => t.to_string(),
                [] => return None,
            })
        }
        Node::Map(_) => it.get("target").and_then(|t| t.node.scalar()),
        _ => None,
    }
}

/// A secret's or config's source name (short form) or `source:` of the long form.
fn mount_source(it: &Item) -> Option<String> {
    match &it.node {
        Node::Str(s) => Some(s.clone()),
        Node::Map(_) => {
            let t = it.get("target").and_then(|t| t.node.scalar());
            t.or_else(|| it.get("source").and_then(|s| s.node.scalar()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::tree::parse;

    fn svc(text: &str) -> Item {
        parse(text, 0).unwrap()
    }

    /// A node's scalars, positions left out.
    fn words(it: &Item) -> Vec<String> {
        match &it.node {
            Node::Seq(items) => items.iter().filter_map(|i| i.node.scalar()).collect(),
            n => n.scalar().into_iter().collect(),
        }
    }

    #[test]
    fn service_merge_follows_compose_rules() {
        let base = svc(
            "image: a\ncommand: [x, y]\nenvironment: [A=1, B=2]\nports: ['80:80']\n\
             volumes: ['./a:/data', 'logs:/logs']\ndepends_on: [db]\nhealthcheck: {test: [CMD, a], retries: 5}\n",
        );
        let over = svc(
            "command: [z]\nenvironment: {B: 3, C: 4}\nports: ['80:80', '81:81']\n\
             volumes: ['./b:/data']\ndepends_on: {cache: {condition: service_healthy}}\nhealthcheck: {test: [CMD, b]}\n",
        );
        let m = merge(base, over, "services.web");
        let get = |k: &str| m.get(k).unwrap().clone();
        assert_eq!(get("image").as_str(), Some("a"));
        assert_eq!(words(&get("command")), ["z"]);
        let env = get("environment");
        let env: Vec<(String, String)> = env
            .entries()
            .iter()
            .map(|e| (e.key.clone(), e.value.node.scalar().unwrap()))
            .collect();
        assert_eq!(
            env,
            [("A", "1"), ("B", "3"), ("C", "4")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let Node::Seq(ports) = get("ports").node else {
            panic!()
        };
        assert_eq!(ports.len(), 2);
        let Node::Seq(vols) = get("volumes").node else {
            panic!()
        };
        assert_eq!(vols.len(), 2);
        assert_eq!(vols[0].as_str(), Some("./b:/data"));
        let deps = get("depends_on");
        let deps: Vec<&str> = deps.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(deps, ["db", "cache"]);
        let hc = get("healthcheck");
        assert_eq!(words(hc.get("test").unwrap()), ["CMD", "b"]);
        assert_eq!(hc.get("retries").unwrap().node, Node::Int(5));
    }
}
