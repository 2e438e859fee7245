//! Service dashboards by shape: a template run once per shape of context, with a marker
//! in place of every value, kept as a [`Skeleton`]; a service's dashboard is its skeleton
//! with its values written into the holes (markers: `crate::markers`).
//!
//! The template may branch only on what the shape keeps: booleans, nulls, empty strings
//! and the length of every list (`templates/grafana/service.json` says so too). Anything
//! else it decided on would differ between services of one shape.

use serde_json::Value;

use super::context::Link;
use crate::markers::{HOLE_CLOSE as CLOSE, HOLE_OPEN as OPEN};

/// The context with every value replaced by its marker. What the template branches on is
/// kept: booleans, nulls, empty strings and the length of every list.
/// The context with a marker (`OPEN` index `CLOSE`) in place of every value [`shape_of`]
/// reads: strings, numbers, and the top-level `links` list as a whole.
pub(super) fn context_markers(ctx: &Value, next: &mut usize) -> Value {
    match ctx {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::Array(_) if k == LINKS => {
                        *next += 1;
                        (
                            k.clone(),
                            Value::String(format!("{OPEN}{}{CLOSE}", *next - 1)),
                        )
                    }
                    _ => (k.clone(), with_markers(v, next)),
                })
                .collect(),
        ),
        _ => with_markers(ctx, next),
    }
}

pub(super) fn with_markers(v: &Value, next: &mut usize) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_markers(v, next)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| with_markers(v, next)).collect()),
        Value::String(s) if s.is_empty() => v.clone(),
        Value::String(_) | Value::Number(_) => {
            *next += 1;
            Value::String(format!("{OPEN}{}{CLOSE}", *next - 1))
        }
        Value::Bool(_) | Value::Null => v.clone(),
    }
}

/// The shape of a context, read from its compact JSON text: the text with every string
/// and number that [`context_markers`] replaces written as `$` (equal for contexts that it
/// maps to the same value), and those scalars as JSON tokens, in marker order; the
/// top-level `links` list is one such value, and its index is returned. `None` for text
/// this reader does not expect (the caller then runs the template).
pub(super) fn shape_of<'t>(
    json: &'t str,
    key: &mut String,
    values: &mut Vec<&'t str>,
) -> Option<Option<usize>> {
    let bytes = json.as_bytes();
    let mut at = 0;
    let mut depth = 0usize;
    let mut links = None;
    while at < bytes.len() {
        match bytes[at] {
            b'{' | b'}' | b'[' | b']' | b',' | b':' => {
                match bytes[at] {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.checked_sub(1)?,
                    _ => {}
                }
                key.push(char::from(bytes[at]));
                at += 1;
            }
            b'"' => {
                let start = at;
                at = string_end(bytes, at)?;
                let token = &json[start..at];
                // Object keys and empty strings are shape; other strings are values.
                if bytes.get(at) == Some(&b':') || token == "\"\"" {
                    key.push_str(token);
                    // The top-level link list is one value: its length is not shape.
                    if depth == 1 && token == LINKS_KEY && bytes.get(at + 1) == Some(&b'[') {
                        key.push_str(":$");
                        let list = at + 1;
                        at = list_end(bytes, list)?;
                        links = Some(values.len());
                        values.push(&json[list..at]);
                    }
                } else {
                    key.push('$');
                    values.push(token);
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while at < bytes.len()
                    && matches!(bytes[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    at += 1;
                }
                key.push('$');
                values.push(&json[start..at]);
            }
            _ => {
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| json[at..].starts_with(w))?;
                key.push_str(word);
                at += word.len();
            }
        }
    }
    Some(links)
}

pub(super) const LINKS: &str = "links";
pub(super) const LINKS_KEY: &str = "\"links\"";

/// The index just past the JSON string that starts at `start` (its opening quote).
pub(super) fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    // Queries make most of the text: skip to the next quote or escape at once.
    loop {
        at += memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// The index just past the JSON list that starts at `start` (its `[`).
pub(super) fn list_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = start;
    loop {
        match bytes.get(at)? {
            b'"' => {
                at = string_end(bytes, at)?;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
        at += 1;
    }
}

/// The link list as the dashboard prints it: keys sorted (the fields' order), pretty-printed
/// for its place, a value of the top-level object.
pub(super) fn pretty_links(links: &[Link<'_>]) -> Option<String> {
    let text = serde_json::to_string_pretty(links).ok()?;
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\n  ");
        }
        out.push_str(line);
    }
    Some(out)
}

/// A dashboard printed with markers in place of its values.
#[derive(Debug)]
pub(super) struct Skeleton {
    parts: Vec<Part>,
    /// Bytes of text, to size the output.
    len: usize,
    /// A marker that could not be read back (never expected): every fill falls back.
    broken: bool,
}

#[derive(Debug)]
pub(super) enum Part {
    Text(String),
    /// Value `index`; `whole` when the marker was a JSON string of its own (`"…"` included),
    /// where a number is printed as a number.
    Value {
        index: usize,
        whole: bool,
    },
}

impl Skeleton {
    pub(super) fn parse(text: &str) -> Skeleton {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut len = 0;
        let mut broken = false;
        while let Some(open) = rest.find(OPEN) {
            let after = &rest[open + OPEN.len_utf8()..];
            let Some((close, index)) = after
                .find(CLOSE)
                .and_then(|close| Some((close, after[..close].parse::<usize>().ok()?)))
            else {
                broken = true;
                break;
            };
            let tail = &after[close + CLOSE.len_utf8()..];
            // An opening quote right before and a closing one right after (not `\"`, which
            // is a quote inside the text).
            let head = &rest[..open];
            let whole = head.ends_with('"') && !head.ends_with("\\\"") && tail.starts_with('"');
            let (before, tail) = if whole {
                (&rest[..open - 1], &tail[1..])
            } else {
                (&rest[..open], tail)
            };
            len += before.len();
            parts.push(Part::Text(before.to_string()));
            parts.push(Part::Value { index, whole });
            rest = tail;
        }
        len += rest.len();
        parts.push(Part::Text(rest.to_string()));
        Skeleton { parts, len, broken }
    }

    /// The dashboard with `values` (JSON tokens from [`shape_of`]) in place, or `None`
    /// when one cannot be placed.
    pub(super) fn fill(&self, values: &[&str]) -> Option<String> {
        if self.broken {
            return None;
        }
        let mut out = String::with_capacity(self.len + 64 * values.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value { index, whole } => {
                    let token = values.get(*index)?;
                    match (token.strip_prefix('"'), whole) {
                        (_, true) => out.push_str(token),
                        // Inside a text: a string's escaped characters without its quotes.
                        (Some(inner), false) => out.push_str(inner.strip_suffix('"')?),
                        // Inside a text the template printed an integer in decimal; any
                        // other number takes a template run.
                        (None, false) => {
                            let digits = token.strip_prefix('-').unwrap_or(token);
                            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                                return None;
                            }
                            out.push_str(token);
                        }
                    }
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    use super::super::shape;
    use super::*;

    /// is not finite, maps, nested lists, and a `links` list at the top level only.
    #[test]
    fn shapes_read_off_values_equal_those_read_from_their_text() {
        #[derive(Serialize)]
        struct Inner {
            links: Vec<u8>,
            q: &'static str,
        }
        #[derive(Serialize)]
        struct Top {
            title: String,
            empty: &'static str,
            links: Vec<Inner>,
            n: i64,
            f: f64,
            nan: f64,
            flag: bool,
            none: Option<u8>,
            map: BTreeMap<&'static str, Vec<(u8, &'static str)>>,
            nested: Vec<Vec<Inner>>,
        }
        let top = Top {
            title: "quote \" backslash \\ tab \t line\n".to_string(),
            empty: "",
            links: vec![Inner {
                links: vec![1],
                q: "a",
            }],
            n: -42,
            f: 0.5,
            nan: f64::NAN,
            flag: true,
            none: None,
            map: BTreeMap::from([("", vec![]), ("k", vec![(7, "v"), (8, "")])]),
            nested: vec![vec![Inner {
                links: vec![],
                q: r#"up{job="x"}"#,
            }]],
        };
        let text = serde_json::to_string(&top).unwrap();
        let (mut key, mut values) = (String::new(), Vec::new());
        let links = shape_of(&text, &mut key, &mut values).unwrap();
        let direct = shape::Shape::of(&top).unwrap();
        assert_eq!(direct.key, key);
        assert_eq!(direct.links, links);
        let i = links.unwrap();
        let mut direct_values = direct.values();
        assert_eq!(
            direct_values[i], "",
            "the links list is the caller's to write"
        );
        direct_values[i] = values[i];
        assert_eq!(direct_values, values);
    }

    #[test]
    fn shapes_the_walk_does_not_model_are_refused() {
        #[derive(Serialize)]
        enum E {
            Data(u8),
        }
        assert!(shape::Shape::of(&vec![E::Data(1)]).is_none());
        assert!(shape::Shape::of(&BTreeMap::from([(1u8, 2u8)])).is_none());
        assert!(shape::Shape::of(&BTreeMap::from([("links", vec![1u8])])).is_none());
        #[derive(Serialize)]
        struct NotAList {
            links: u8,
        }
        assert!(shape::Shape::of(&NotAList { links: 1 }).is_none());
    }

    fn marker(i: usize) -> String {
        format!("{OPEN}{i}{CLOSE}")
    }

    #[test]
    fn skeleton_places_strings_escaped_and_numbers_by_position() {
        let text = format!(
            r#"{{"a": "{}", "b": "x {} y", "c": "{}", "d": "say \"{}\"", "e": "{}"}}"#,
            marker(0),
            marker(1),
            marker(2),
            marker(3),
            marker(4)
        );
        let skeleton = Skeleton::parse(&text);
        // JSON tokens, as `shape_of` reads them.
        let values = [r#""q=\"1\"""#, "3", "0.25", r#""it""#, r#""<&>""#];
        assert_eq!(
            skeleton.fill(&values).unwrap(),
            r#"{"a": "q=\"1\"", "b": "x 3 y", "c": 0.25, "d": "say \"it\"", "e": "<&>"}"#
        );
    }

    #[test]
    fn skeleton_refuses_what_it_cannot_place() {
        // A fraction inside a text would need the template's own number formatting.
        let skeleton = Skeleton::parse(&format!(r#"{{"a": "x {}"}}"#, marker(0)));
        assert_eq!(skeleton.fill(&["0.5"]), None);
        assert_eq!(skeleton.fill(&["-"]), None);
        // A missing value, and a marker that cannot be read back.
        assert_eq!(skeleton.fill(&[]), None);
        let broken = Skeleton::parse(&format!(r#"{{"a": "{OPEN}x"}}"#));
        assert_eq!(broken.fill(&[r#""v""#]), None);
    }

    #[test]
    fn the_top_level_link_list_is_one_value() {
        let shape = |ctx: Value| {
            let text = ctx.to_string();
            let (mut key, mut values) = (String::new(), Vec::new());
            let links = shape_of(&text, &mut key, &mut values).unwrap();
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            (key, links, values)
        };
        let one = json!({"a": "x", "links": [{"t": "b]\"", "tags": ["y"]}], "z": 1});
        let two = json!({"a": "x", "links": [{"t": "c"}, {"t": "d", "tags": []}], "z": 1});
        let (key, links, values) = shape(one);
        assert_eq!(key, r#"{"a":$,"links":$,"z":$}"#);
        assert_eq!(links, Some(1));
        assert_eq!(values[1], r#"[{"t":"b]\"","tags":["y"]}]"#);
        assert_eq!(
            shape(two).0,
            key,
            "the list's length and items are not shape"
        );
        // Only at the top level; a nested `links` is shape like any list.
        let (nested, links, _) = shape(json!({"p": {"links": [1]}}));
        assert_eq!((nested.as_str(), links), (r#"{"p":{"links":[$]}}"#, None));
        let (mut key, mut values) = (String::new(), Vec::new());
        assert!(shape_of(r#"{"links":[{"t":"x"}"#, &mut key, &mut values).is_none());
        // Marked as one value too, in the same place of the marker order.
        let mut next = 0;
        let marked = context_markers(&json!({"a": "x", "links": [{"t": "c"}], "z": 1}), &mut next);
        assert_eq!(
            marked,
            json!({"a": marker(0), "links": marker(1), "z": marker(2)})
        );
    }

    #[test]
    fn links_print_as_the_dashboard_prints_them() {
        let link = |title: &str, tags: Vec<&'static str>| Link {
            as_dropdown: false,
            icon: "dashboard",
            include_vars: false,
            keep_time: true,
            tags,
            target_blank: false,
            title: title.to_string(),
            tooltip: "t",
            kind: "link",
            url: (title == "a").then(|| "/d/a".to_string()),
        };
        let links = [link("a", vec![]), link("b", vec!["x"])];
        // What a whole dashboard prints for the same list: every object's keys sorted.
        let mut doc = json!({ "links": serde_json::to_value(&links).unwrap() });
        for l in doc["links"].as_array_mut().unwrap() {
            let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
            assert!(keys.is_sorted(), "fields out of order: {keys:?}");
            l.as_object_mut().unwrap().sort_keys();
        }
        let whole = serde_json::to_string_pretty(&doc).unwrap();
        let printed = pretty_links(&links).unwrap();
        assert_eq!(whole, format!("{{\n  \"links\": {printed}\n}}"));
        assert!(printed.contains("\n      \"tags\": [\n        \"x\"\n      ],\n"));
    }

    #[test]
    fn markers_keep_what_the_template_branches_on() {
        let ctx = json!({"s": "v", "e": "", "n": 2, "b": true, "z": null, "l": [1, "w"]});
        let mut next = 0;
        let marked = with_markers(&ctx, &mut next);
        assert_eq!(
            marked,
            json!({"s": marker(0), "e": "", "n": marker(1), "b": true, "z": null, "l": [marker(2), marker(3)]})
        );
        let text = ctx.to_string();
        let (mut key, mut values) = (String::new(), Vec::new());
        shape_of(&text, &mut key, &mut values).unwrap();
        // In marker order, as JSON tokens.
        assert_eq!(values, [r#""v""#, "2", "1", r#""w""#]);
        let key_of = |v: Value| {
            let text = v.to_string();
            let (mut key, mut values) = (String::new(), Vec::new());
            shape_of(&text, &mut key, &mut values).unwrap();
            key
        };
        let other = key_of(json!({"s": "w", "e": "", "n": 7, "b": true, "z": null, "l": [5, "x"]}));
        assert_eq!(key, other, "same shape, different values");
        let third =
            key_of(json!({"s": "w", "e": "x", "n": 7, "b": true, "z": null, "l": [5, "x"]}));
        assert_ne!(key, third, "an empty string is part of the shape");
        // Escaped quotes and backslashes stay inside their string; keys are shape.
        let tricky = json!({"k\"ey": "a\\\"b", "n": -1.5e-3});
        let tricky = tricky.to_string();
        let (mut key, mut values) = (String::new(), Vec::new());
        shape_of(&tricky, &mut key, &mut values).unwrap();
        assert_eq!(key, r#"{"k\"ey":$,"n":$}"#);
        assert_eq!(values, [r#""a\\\"b""#, "-0.0015"]);
        let (mut key, mut values) = (String::new(), Vec::new());
        assert!(shape_of(r#"{"a":"unterminated}"#, &mut key, &mut values).is_none());
        // An escape that runs past the end of the text.
        assert!(shape_of(r#"{"a":"x\"#, &mut key, &mut values).is_none());
        assert!(shape_of(r#"{"a":"\"#, &mut key, &mut values).is_none());
        assert!(shape_of("{\"a\":nope}", &mut key, &mut values).is_none());
    }
}
