//! Phase 2: JSON Schema validation of the spanned document.
//!
//! The document is converted to a JSON value (what the schema describes), remembering for
//! every JSON pointer the span of its key and value. Every schema violation is then reported
//! at its place in `platform.toml`, in TOML terms, with a fix where one can be derived from
//! the schema (allowed keys, enum values).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, suggest};

/// The JSON Schema of platform.toml, as shipped in `schemas/`.
mod text;

pub const SCHEMA_TEXT: &str = include_str!("../../schemas/platform.schema.json");

pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_TEXT).expect("embedded schema is valid JSON"))
}

/// Whether top-level section `section` is a table of named entries (`[services.<name>]`),
/// as the schema declares it: its entries are `additionalProperties` of an object schema.
pub fn is_named_section(section: &str) -> bool {
    schema()["properties"][section]["additionalProperties"].is_object()
}

/// Compiles the schema's validator now, if that has not happened yet: beside parsing, it
/// is off the path of the first [`check`].
pub fn prepare() {
    validator();
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::new(schema()).expect("embedded schema is a valid JSON Schema")
    })
}

/// Where a JSON pointer's key and value are in the source, and which TOML type the value had.
#[derive(Debug, Clone)]
struct Place {
    key: Option<Range<usize>>,
    value: Range<usize>,
    toml_type: &'static str,
}

#[derive(Debug, Default)]
pub struct SpanIndex {
    places: HashMap<String, Place>,
    /// Off for the first, optimistic pass: a valid document needs no spans.
    disabled: bool,
}

impl SpanIndex {
    fn value_span(&self, pointer: &str) -> Range<usize> {
        self.places
            .get(pointer)
            .map(|p| p.value.clone())
            .unwrap_or(0..0)
    }

    /// The key when there is one (it names what is wrong), else the value.
    fn key_or_value_span(&self, pointer: &str) -> Range<usize> {
        match self.places.get(pointer) {
            Some(Place { key: Some(k), .. }) => k.clone(),
            Some(p) => p.value.clone(),
            None => 0..0,
        }
    }

    fn toml_type(&self, pointer: &str) -> &'static str {
        self.places.get(pointer).map_or("value", |p| p.toml_type)
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Validates the document against the schema. Most documents are valid, so the first pass
/// builds no span index; only when it fails is the tree converted again with every node's
/// spans, to point each error at its place.
pub fn check(doc: &Spanned<DeTable<'_>>, text: &str) -> Checked {
    let mut index = SpanIndex {
        disabled: true,
        ..SpanIndex::default()
    };
    let json = table_to_json(doc.get_ref(), &mut String::new(), &mut index);
    let mut found = if validator().is_valid(&json) {
        drop(json);
        Checked {
            counted_all: true,
            ..Checked::default()
        }
    } else {
        drop(json);
        let (json, index) = to_json(doc);
        checked(&json, &index)
    };
    // What the output's readers refuse, reported beside the schema's errors.
    let mut refused = Vec::new();
    self::text::check(doc, text, &mut refused, &mut found.invalid);
    if !refused.is_empty() {
        found.diagnostics = crate::diagnostic::merge_and_sort(
            found.diagnostics.into_iter().chain(refused).collect(),
        );
    }
    found
}

/// What the schema found wrong with a document.
#[derive(Debug, Default)]
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// Where each problem is: the keys from the root to the value that is wrong (an unknown
    /// key included). Complete only when `counted_all`: the later phases can then run on
    /// the document without these parts.
    pub invalid: Vec<Vec<String>>,
    /// Whether every error is described (none were only counted).
    pub counted_all: bool,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// Converts the TOML tree to JSON and indexes every node's spans by JSON pointer.
pub fn to_json(doc: &Spanned<DeTable<'_>>) -> (Value, SpanIndex) {
    let mut index = SpanIndex::default();
    let mut pointer = String::new();
    let value = table_to_json(doc.get_ref(), &mut pointer, &mut index);
    index.places.insert(
        String::new(),
        Place {
            key: None,
            value: doc.span(),
            toml_type: "table",
        },
    );
    (value, index)
}

fn table_to_json(table: &DeTable<'_>, pointer: &mut String, index: &mut SpanIndex) -> Value {
    let mut map = Map::new();
    for (key, value) in table {
        let len = pointer.len();
        // The pointers are for the span index only.
        if !index.disabled {
            pointer.push('/');
            pointer.push_str(&escape(key.get_ref()));
        }
        let json = value_to_json(value, Some(key.span()), pointer, index);
        pointer.truncate(len);
        map.insert(key.get_ref().to_string(), json);
    }
    Value::Object(map)
}

fn value_to_json(
    value: &Spanned<DeValue<'_>>,
    key: Option<Range<usize>>,
    pointer: &mut String,
    index: &mut SpanIndex,
) -> Value {
    let (json, toml_type) = match value.get_ref() {
        DeValue::String(s) => (Value::String(s.to_string()), "string"),
        DeValue::Integer(i) => (
            i64::from_str_radix(i.as_str(), i.radix())
                .map(|n| Value::Number(n.into()))
                // Out of i64 range: no key of the language accepts such a number, and
                // null fails every type check, so the schema reports it.
                .unwrap_or(Value::Null),
            "integer",
        ),
        DeValue::Float(f) => (
            f.as_str()
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map_or(Value::Null, Value::Number),
            "float",
        ),
        DeValue::Boolean(b) => (Value::Bool(*b), "boolean"),
        // A bare TOML date or time is its text to the schema, as to editors (taplo): a key
        // that takes a date string takes a TOML date too.
        DeValue::Datetime(d) => (Value::String(d.to_string()), "date-time"),
        DeValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                if !index.disabled {
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                }
                out.push(value_to_json(item, None, pointer, index));
                pointer.truncate(len);
            }
            (Value::Array(out), "array")
        }
        DeValue::Table(t) => (table_to_json(t, pointer, index), "table"),
    };
    if !index.disabled {
        index.places.insert(
            pointer.clone(),
            Place {
                key,
                value: value.span(),
                toml_type,
            },
        );
    }
    json
}

/// `/services/api-gateway/egress/0/cidr` → `services.api-gateway.egress[0].cidr`.
pub fn toml_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = unescape(segment);
        if segment.parse::<usize>().is_ok() && !out.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            let bare = !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if bare {
                out.push_str(&segment);
            } else {
                out.push_str(&format!("{segment:?}"));
            }
        }
    }
    if out.is_empty() {
        "the top level".to_string()
    } else {
        out
    }
}

fn describe_json(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "value".to_string(),
        other => other.to_string(),
    }
}

/// The node of the schema document at a JSON pointer.
fn schema_at(pointer: &str) -> Option<&'static Value> {
    schema().pointer(pointer)
}

/// Name of the `$defs` entry a schema location lies in, for domain-specific messages.
fn def_name(schema_path: &str) -> Option<&str> {
    let rest = schema_path.strip_prefix("/$defs/")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// What a value of a `$defs` type must look like, in words.
fn pattern_explanation(def: Option<&str>) -> Option<&'static str> {
    Some(match def? {
        "name" => {
            "names are DNS-1123 labels: lowercase letters, digits and `-`, starting with a letter, not ending with `-`, at most 63 characters"
        }
        "duration" => {
            "durations are a number and a unit: \"500ms\", \"30s\", \"5m\", \"1h\", \"30d\", \"1w\""
        }
        "quantity" => {
            "CPU and memory are Kubernetes quantities: \"500m\", \"2\", \"512Mi\", \"1Gi\""
        }
        "cidr" => "a CIDR block is an address and a prefix length: \"10.0.32.0/20\"",
        "labelMap" | "annotationMap" => {
            "label keys are an optional DNS prefix and a name (`team`, `example.com/tier`); label values are at most 63 letters, digits, `-`, `_` or `.`, starting and ending alphanumeric"
        }
        "image" => "an image is `name:tag`, `registry/name:tag`, or pinned with `@sha256:<digest>`",
        "secretRef" => {
            "a secret reference is \"secret-name/key\": a DNS subdomain, `/`, and a key that is not `.` or `..`"
        }
        "envVarName" | "envMap" | "secretMap" => {
            "environment variable names are letters, digits and `_`, not starting with a digit"
        }
        "metricName" => {
            "Prometheus metric names are letters, digits, `_` and `:`, not starting with a digit"
        }
        _ => return None,
    })
}

pub fn validate(instance: &Value, index: &SpanIndex) -> Vec<Diagnostic> {
    checked(instance, index).diagnostics
}

fn checked(instance: &Value, index: &SpanIndex) -> Checked {
    let mut out = Vec::new();
    let mut invalid = Vec::new();
    let mut errors = validator().iter_errors(instance);
    for error in errors.by_ref() {
        let at: Vec<String> = error
            .instance_path()
            .as_str()
            .split('/')
            .skip(1)
            .map(unescape)
            .collect();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                for key in unexpected {
                    invalid.push(at.iter().cloned().chain([key.clone()]).collect());
                }
            }
            _ => invalid.push(at),
        }
        report(&error, index, &mut out);
        if out.len() > crate::diagnostic::MAX_PER_PHASE {
            break;
        }
    }
    // The rest are counted, not described: the errors come one at a time.
    let rest = errors.count();
    Checked {
        diagnostics: crate::diagnostic::capped(
            crate::diagnostic::merge_and_sort(out),
            "schema",
            crate::diagnostic::Omitted::Counted(rest),
        ),
        counted_all: rest == 0,
        invalid,
    }
}

fn schema_error(message: String, span: Range<usize>, label: impl Into<String>) -> Diagnostic {
    Diagnostic::new(crate::diagnostic::codes::SCHEMA, message, span, label)
}

/// The description of the property whose value failed, as a reminder of what it means.
fn description_help(schema_path: &str) -> Option<String> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    schema_at(parent)
        .and_then(|node| node.get("description"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn report(error: &ValidationError<'_>, index: &SpanIndex, out: &mut Vec<Diagnostic>) {
    let pointer = error.instance_path().as_str();
    let schema_path = error.schema_path().as_str();
    let path = toml_path(pointer);
    let instance = error.instance();
    let at = At {
        pointer,
        schema_path,
        path: path.clone(),
        instance,
        index,
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            unknown_keys(&at, unexpected, out)
        }
        ValidationErrorKind::Required { property } => missing_key(&at, property, out),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => toml_type_name(&t.to_string()),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| toml_type_name(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let found = index.toml_type(pointer);
            let mut d = schema_error(
                format!("wrong type for `{path}`: expected {expected}, found {found}"),
                index.value_span(pointer),
                format!("expected {expected}"),
            );
            if let Some(h) = description_help(schema_path) {
                d = d.with_help(format!("`{}`: {h}", last_key(pointer)));
            }
            out.push(d);
        }
        ValidationErrorKind::Pattern { .. } => {
            let def = def_name(schema_path);
            let explanation = pattern_explanation(def);
            let mut d = schema_error(
                format!("invalid value {} for `{path}`", describe_json(instance)),
                index.value_span(pointer),
                match def {
                    Some(def) => format!("not a valid {}", def_words(def)),
                    None => "does not match the expected format".to_string(),
                },
            );
            if let Some(e) = explanation {
                d = d.with_help(e);
            } else if let Some(h) = description_help(schema_path) {
                d = d.with_help(h);
            }
            out.push(d);
        }
        ValidationErrorKind::Enum { options } => not_an_option(&at, options, out),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            let bound = match error.kind() {
                ValidationErrorKind::Minimum { .. } => format!("at least {limit}"),
                ValidationErrorKind::Maximum { .. } => format!("at most {limit}"),
                ValidationErrorKind::ExclusiveMinimum { .. } => format!("greater than {limit}"),
                _ => format!("less than {limit}"),
            };
            let mut d = schema_error(
                format!("`{path}` is out of range: {instance} is not {bound}"),
                index.value_span(pointer),
                format!("must be {bound}"),
            );
            if let Some(h) = description_help(schema_path) {
                d = d.with_help(format!("`{}`: {h}", last_key(pointer)));
            }
            out.push(d);
        }
        ValidationErrorKind::MinItems { limit } => out.push(schema_error(
            format!("`{path}` needs at least {limit} item(s)"),
            index.value_span(pointer),
            "too few items",
        )),
        ValidationErrorKind::MaxItems { limit } => out.push(schema_error(
            format!("`{path}` has more than {limit} item(s)"),
            index.value_span(pointer),
            "too many items",
        )),
        ValidationErrorKind::UniqueItems => out.push(
            schema_error(
                format!("`{path}` lists the same item twice"),
                index.value_span(pointer),
                "duplicate item",
            )
            .with_help("remove the repeated entry"),
        ),
        ValidationErrorKind::MinProperties { .. } => out.push(
            schema_error(
                format!("`{path}` is empty"),
                index.value_span(pointer),
                "empty table",
            )
            .with_help("remove it, or set at least one key"),
        ),
        ValidationErrorKind::MinLength { .. } => out.push(schema_error(
            format!("`{path}` must not be empty"),
            index.value_span(pointer),
            "empty string",
        )),
        ValidationErrorKind::MaxLength { limit } => out.push(schema_error(
            format!("`{path}` is longer than {limit} characters"),
            index.value_span(pointer),
            "too long",
        )),
        ValidationErrorKind::PropertyNames { error: inner } => invalid_name(&at, inner, out),
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            one_of(&at, context, out)
        }
        other => out.push(schema_error(
            format!("invalid `{path}`: {error}"),
            index.value_span(pointer),
            format!("fails `{}`", other.keyword()),
        )),
    }
}

/// Where a schema error is: what [`report`]'s helpers need of it.
struct At<'e> {
    pointer: &'e str,
    schema_path: &'e str,
    path: String,
    instance: &'e Value,
    index: &'e SpanIndex,
}

fn unknown_keys(at: &At<'_>, unexpected: &[String], out: &mut Vec<Diagnostic>) {
    let At {
        pointer,
        schema_path,
        path,
        index,
        ..
    } = at;
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    let allowed: Vec<&str> = schema_at(parent)
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for key in unexpected {
        let span = index.key_or_value_span(&format!("{pointer}/{}", escape(key)));
        let where_ = if pointer.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{path}`")
        };
        let mut d = schema_error(format!("unknown key `{key}` {where_}"), span, "unknown key");
        d = match suggest(key, allowed.iter().copied()) {
            Some(best) => d.with_help(format!("did you mean `{best}`?")),
            None if !allowed.is_empty() => {
                d.with_help(format!("allowed keys here: {}", allowed.join(", ")))
            }
            None => d,
        };
        out.push(d);
    }
}

fn missing_key(at: &At<'_>, property: &Value, out: &mut Vec<Diagnostic>) {
    let At {
        pointer,
        schema_path,
        path,
        index,
        ..
    } = at;
    let property = property.as_str().unwrap_or_default();
    let span = index.key_or_value_span(pointer);
    let what = if pointer.is_empty() {
        format!("missing required table `[{property}]`")
    } else {
        format!("missing required key `{property}` in `{path}`")
    };
    let property_schema = schema_at(&format!(
        "{}/properties/{}",
        schema_path.rsplit_once('/').map_or("", |(p, _)| p),
        escape(property)
    ));
    let is_table = property_schema
        .and_then(|n| n.get("$ref"))
        .and_then(Value::as_str)
        .and_then(|r| schema_at(r.trim_start_matches('#')))
        .or(property_schema)
        .and_then(|n| n.get("type"))
        .is_some_and(|t| t == "object");
    let help = property_schema
        .and_then(|n| n.get("description"))
        .and_then(Value::as_str)
        .map(|d| {
            if is_table {
                let header = if pointer.is_empty() {
                    property.to_string()
                } else {
                    format!("{path}.{property}")
                };
                format!("add a `[{header}]` table: {d}")
            } else {
                format!("add `{property} = …`: {d}")
            }
        });
    let mut d = schema_error(what, span, format!("`{property}` is missing here"));
    if let Some(h) = help {
        d = d.with_help(h);
    }
    out.push(d);
}

fn not_an_option(at: &At<'_>, options: &Value, out: &mut Vec<Diagnostic>) {
    let At {
        pointer,
        path,
        instance,
        index,
        ..
    } = at;
    let choices: Vec<&str> = options
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut d = schema_error(
        format!(
            "invalid value {} for `{path}`: expected one of {}",
            describe_json(instance),
            choices
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        index.value_span(pointer),
        "not an allowed value",
    );
    if let Some(found) = instance.as_str()
        && let Some(best) = suggest(found, choices.iter().copied())
    {
        d = d.with_help(format!("did you mean \"{best}\"?"));
    }
    out.push(d);
}

fn invalid_name(at: &At<'_>, inner: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
    let At {
        pointer,
        path,
        index,
        ..
    } = at;
    let key = inner.instance().as_str().unwrap_or_default().to_string();
    let span = index.key_or_value_span(&format!("{pointer}/{}", escape(&key)));
    let (message, help) = match inner.kind() {
        ValidationErrorKind::Not { .. } => (
            format!("`{key}` is reserved and cannot be used as a name in `{path}`"),
            "`base` stands for the file as written, without `--env`; pick another name".to_string(),
        ),
        _ => (
            format!("invalid name `{key}` in `{path}`"),
            pattern_explanation(def_name(inner.schema_path().as_str()))
                .or_else(|| pattern_explanation(Some("name")))
                .unwrap_or_default()
                .to_string(),
        ),
    };
    out.push(schema_error(message, span, "invalid name").with_help(help));
}

/// A value none of a `oneOf`/`anyOf`'s branches accepts: the branch written for this kind
/// of value (a string branch for a string, a table branch for a table) is reported as if
/// it were the only one.
fn one_of(at: &At<'_>, context: &[Vec<ValidationError<'static>>], out: &mut Vec<Diagnostic>) {
    let At {
        pointer,
        schema_path,
        path,
        index,
        ..
    } = at;
    // Report the branch written for this kind of value (a string branch for a
    // string, a table branch for a table), as if it were the only one.
    let matching: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|branch| {
            !branch.iter().any(|e| {
                e.instance_path().as_str() == *pointer
                    && matches!(e.kind(), ValidationErrorKind::Type { .. })
            })
        })
        .collect();
    if let [branch] = matching.as_slice() {
        for e in branch.iter() {
            report(e, index, out);
        }
    } else {
        let mut d = schema_error(
            format!(
                "wrong type for `{path}`: found {}",
                index.toml_type(pointer)
            ),
            index.value_span(pointer),
            "unexpected type",
        );
        if let Some(h) = description_help(schema_path) {
            d = d.with_help(h);
        }
        out.push(d);
    }
}

fn last_key(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .find(|s| s.parse::<usize>().is_err())
        .map(unescape)
        .unwrap_or_default()
}

fn toml_type_name(json_type: &str) -> String {
    match json_type {
        "object" => "table".to_string(),
        "number" => "number".to_string(),
        other => other.to_string(),
    }
}

fn def_words(def: &str) -> &str {
    match def {
        "labelMap" | "annotationMap" => "label",
        "envMap" | "envVarName" => "variable name",
        "secretMap" | "secretRef" => "secret reference",
        "metricName" => "metric name",
        "cidr" => "CIDR block",
        other => other,
    }
}
