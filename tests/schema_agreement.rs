//! The JSON Schema and the Rust model describe the same language: everything valid passes
//! both, everything invalid fails, and the schema itself is a valid 2020-12 schema.

mod common;

use berrys::{CompileError, Envs, compile};

#[test]
fn schema_is_valid_json_schema() {
    let schema = berrys::validate::schema();
    assert!(jsonschema::meta::is_valid(schema));
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

/// Every property in the schema carries a description, for editors.
#[test]
fn every_property_is_described() {
    fn walk(node: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                if v.get("description").is_none() {
                    missing.push(format!("{path}/{k}"));
                }
                walk(v, &format!("{path}/{k}"), missing);
            }
        }
        if let Some(defs) = node.get("$defs").and_then(|d| d.as_object()) {
            for (k, v) in defs {
                walk(v, &format!("{path}/$defs/{k}"), missing);
            }
        }
        for key in ["additionalProperties", "items"] {
            if let Some(v) = node.get(key).filter(|v| v.is_object()) {
                walk(v, &format!("{path}/{key}"), missing);
            }
        }
    }
    let mut missing = Vec::new();
    walk(berrys::validate::schema(), "", &mut missing);
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}

#[test]
fn reference_and_valid_fixtures_pass_schema_and_model() {
    let mut paths = vec![common::root().join("platform.toml")];
    for entry in std::fs::read_dir(common::root().join("tests/fixtures/valid")).unwrap() {
        paths.push(entry.unwrap().path());
    }
    for path in paths {
        let source = common::load(&path);
        if let Err(e) = compile(&source, Envs::All) {
            let shown = match e {
                CompileError::Diagnostics(d) => berrys::report::render_human(&d, &source, false),
                other => format!("{other:?}"),
            };
            panic!("{} fails:\n{shown}", path.display());
        }
    }
}

#[test]
fn invalid_fixtures_fail() {
    for entry in std::fs::read_dir(common::root().join("tests/fixtures/invalid")).unwrap() {
        let path = entry.unwrap().path();
        let source = common::load(&path);
        assert!(
            compile(&source, Envs::All).is_err(),
            "{} compiles but should not",
            path.display()
        );
    }
}

/// A schema-valid document always deserialises into the model: no "invalid value" errors
/// from serde, which would mean the two disagree.
#[test]
fn no_invalid_fixture_reaches_a_serde_error() {
    for entry in std::fs::read_dir(common::root().join("tests/fixtures/invalid")).unwrap() {
        let path = entry.unwrap().path();
        let shown = common::diagnostics(&common::load(&path));
        assert!(
            !shown.contains("invalid value: "),
            "{}: schema and model disagree:\n{shown}",
            path.display()
        );
    }
}

#[test]
fn berrys_schema_prints_the_shipped_file() {
    let shipped =
        std::fs::read_to_string(common::root().join("schemas/platform.schema.json")).unwrap();
    let mut out = Vec::new();
    assert_eq!(berrys::commands::schema(&mut out), 0);
    assert_eq!(String::from_utf8(out).unwrap(), shipped);
}

/// The sections whose schema errors leave out one entry, not the whole section, are the
/// schema's tables of named entries.
#[test]
fn sections_of_named_entries_come_from_the_schema() {
    use berrys::validate::is_named_section;
    for named in [
        "services",
        "scaling",
        "rate_limits",
        "pools",
        "datastores",
        "environments",
        "delivery",
    ] {
        assert!(is_named_section(named), "{named}");
    }
    for single in [
        "platform",
        "observability",
        "alerting",
        "secrets",
        "lint",
        "nope",
    ] {
        assert!(!is_named_section(single), "{single}");
    }
}
