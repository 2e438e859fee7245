//! A generated platform as a tree of values with unresolved cross-references, and its TOML
//! text.
//!
//! The strategies cannot know which tiers, pools or services a platform will end up with
//! (names are generated and deduplicated independently), so a reference is drawn as an
//! index ([`V::Ref`]) and resolved against the final name lists only when the text is
//! written. That keeps every strategy independent of the others, which is what lets
//! proptest shrink each part on its own. The `toml` crate is built here without its
//! serializer, so the text is written by hand, with TOML's escaping rules.

use std::collections::BTreeMap;
use std::fmt::Write;

use proptest::sample::Index;

/// The kinds of named things a value can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Tier,
    RateLimit,
    Pool,
    Datastore,
    Delivery,
    Service,
    Receiver,
    Team,
}

/// A TOML value, possibly holding references still to be resolved.
#[derive(Debug, Clone)]
pub enum V {
    S(String),
    I(i64),
    F(f64),
    B(bool),
    A(Vec<V>),
    T(Vec<(String, V)>),
    /// The name of one `Kind` of thing; the entry holding it is left out when there is none.
    Ref(Kind, Index),
    /// A table keyed by names of a `Kind` (`datastores = { <datastore> = <pool> }`,
    /// environment service overrides); duplicate keys are dropped.
    Keyed(Kind, Vec<(Index, V)>),
    /// Hard dependencies: names of services declared before the current one, so the
    /// `depends_on` graph is acyclic by construction.
    Earlier(Vec<Index>),
    /// Soft dependencies: names of any other services.
    Others(Vec<Index>),
    /// A value the enclosing table cannot do without (`tier`, `profile`): when it does
    /// not resolve, the whole table is left out.
    Needed(Box<V>),
}

/// The names each reference resolves against, and the service being written.
pub struct Catalog {
    pub names: BTreeMap<Kind, Vec<String>>,
    pub service: Option<usize>,
}

impl Catalog {
    fn pick(&self, kind: Kind, index: &Index) -> Option<String> {
        let names = self.names.get(&kind).filter(|n| !n.is_empty())?;
        Some(names[index.index(names.len())].clone())
    }
}

impl V {
    pub fn s(text: impl Into<String>) -> V {
        V::S(text.into())
    }

    /// The value with every reference replaced by a name; `None` when a reference has
    /// nothing to name (the entry is then left out).
    pub fn resolve(&self, catalog: &Catalog) -> Option<V> {
        Some(match self {
            V::S(_) | V::I(_) | V::F(_) | V::B(_) => self.clone(),
            V::A(items) => V::A(items.iter().filter_map(|v| v.resolve(catalog)).collect()),
            V::T(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    match (v, v.resolve(catalog)) {
                        (_, Some(v)) => out.push((k.clone(), v)),
                        (V::Needed(_), None) => return None,
                        (_, None) => {}
                    }
                }
                V::T(out)
            }
            V::Needed(v) => v.resolve(catalog)?,
            V::Ref(kind, index) => V::S(catalog.pick(*kind, index)?),
            V::Keyed(kind, entries) => {
                let mut out: Vec<(String, V)> = Vec::new();
                for (index, v) in entries {
                    let key = catalog.pick(*kind, index)?;
                    if !out.iter().any(|(k, _)| *k == key) {
                        out.push((key, v.resolve(catalog)?));
                    }
                }
                V::T(out)
            }
            V::Earlier(indices) => {
                let me = catalog.service?;
                let names = &catalog.names[&Kind::Service][..me];
                unique_names(names, indices)?
            }
            V::Others(indices) => {
                let me = catalog.service?;
                let names: Vec<String> = catalog.names[&Kind::Service]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != me)
                    .map(|(_, n)| n.clone())
                    .collect();
                unique_names(&names, indices)?
            }
        })
    }
}

/// The distinct names the indices pick, as an array; `None` when there are none.
fn unique_names(names: &[String], indices: &[Index]) -> Option<V> {
    if names.is_empty() || indices.is_empty() {
        return None;
    }
    let mut picked: Vec<String> = Vec::new();
    for i in indices {
        let n = &names[i.index(names.len())];
        if !picked.contains(n) {
            picked.push(n.clone());
        }
    }
    Some(V::A(picked.into_iter().map(V::S).collect()))
}

/// A `[header]` and its entries, every nested table written inline.
pub struct Section {
    pub header: Vec<String>,
    pub entries: Vec<(String, V)>,
}

/// The TOML text of resolved sections.
pub fn write(sections: &[Section]) -> String {
    let mut out = String::new();
    for section in sections {
        let header: Vec<String> = section.header.iter().map(|k| key(k)).collect();
        let _ = writeln!(out, "[{}]", header.join("."));
        for (k, v) in &section.entries {
            let _ = writeln!(out, "{} = {}", key(k), value(v));
        }
        out.push('\n');
    }
    out
}

/// A key, bare when TOML allows it, else a quoted string.
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { k.to_string() } else { quoted(k) }
}

/// A basic string: `"` and `\` escaped, every control character as `\uXXXX` (TOML
/// forbids them raw).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value(v: &V) -> String {
    match v {
        V::S(s) => quoted(s),
        V::I(i) => i.to_string(),
        // `{:?}` always writes a fraction or an exponent ("99.0", "1e-9"): a float stays
        // a float in TOML.
        V::F(f) => format!("{f:?}"),
        V::B(b) => b.to_string(),
        V::A(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        V::T(entries) if entries.is_empty() => "{}".to_string(),
        V::T(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), value(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        V::Ref(..) | V::Keyed(..) | V::Earlier(_) | V::Others(_) | V::Needed(_) => {
            unreachable!("references are resolved before writing")
        }
    }
}
