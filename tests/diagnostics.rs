//! Each invalid fixture holds one problem; its diagnostics are snapshotted exactly as a user
//! sees them (file:line:column, underlined source, message, help).

mod common;

#[test]
fn invalid_fixtures() {
    insta::glob!("fixtures/invalid/*.toml", |path| {
        let source = common::load(path);
        let shown = common::diagnostics(&source);
        assert!(!shown.is_empty(), "{} compiled cleanly", path.display());
        assert!(
            shown.contains(&format!("[{}:", source.name)),
            "{}: every diagnostic points into the file",
            path.display()
        );
        insta::with_settings!({
            snapshot_path => "snapshots/diagnostics",
            prepend_module_to_snapshot => false,
            description => source.text.lines().next().unwrap_or_default().to_string(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(shown);
        });
    });
}

/// All problems of a file are reported in one run, not only the first.
#[test]
fn all_problems_in_one_run() {
    let text = r#"
[platform]
name = "demo"
namespce = "x"

[services.api]
image = "api:1"
port = "8080"
layer = "Not A Name"
"#;
    let source = berrys::source::SourceFile::new("platform.toml", text);
    let shown = common::diagnostics(&source);
    assert!(shown.contains("unknown key `namespce`"), "{shown}");
    assert!(shown.contains("expected integer, found string"), "{shown}");
    assert!(shown.contains("invalid value \"Not A Name\""), "{shown}");

    let text = r#"
[platform]
name = "demo"

[services.a]
image = "a:1"
port = 80
depends_on = ["b", "nope"]
rate_limit = "fast"

[services.b]
image = "b:1"
port = 80
depends_on = ["a"]
"#;
    let source = berrys::source::SourceFile::new("platform.toml", text);
    let shown = common::diagnostics(&source);
    assert!(shown.contains("unknown service `nope`"), "{shown}");
    assert!(shown.contains("unknown rate-limit tier `fast`"), "{shown}");
    assert!(shown.contains("dependency cycle: a → b → a"), "{shown}");
}

/// Errors found only in an environment say which one.
#[test]
fn environment_specific_errors_name_the_environment() {
    let text = r#"
[platform]
name = "demo"

[environments.staging]
services.api = { scaling = "missing" }

[services.api]
image = "api:1"
port = 80
"#;
    let source = berrys::source::SourceFile::new("platform.toml", text);
    let shown = common::diagnostics(&source);
    assert!(shown.contains("unknown scaling tier `missing`"), "{shown}");
    assert!(shown.contains("in environment: staging"), "{shown}");
}

/// Every ConfigMap key berrys writes itself (rate limits, pools, datastore hosts,
/// dependency URLs) is refused in `env`, naming what berrys writes there: the model's list
/// of reserved names and the renderer's ConfigMap agree.
#[test]
fn every_generated_config_key_is_refused_in_env() {
    let path = common::root().join("tests/fixtures/valid/real-cluster.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let source = common::load(&path);
    let compiled = common::compile_env(&source, None);
    let mut checked = 0;
    for (name, service) in &compiled.platform.services {
        assert!(service.env.is_empty(), "{name}: the fixture sets no env");
        let data = berrys::render::kubernetes::config_data(&compiled.platform, service);
        for key in data.keys() {
            let header = format!("[services.{name}]\n");
            let edited = text.replace(&header, &format!("{header}env = {{ {key} = \"x\" }}\n"));
            let source = berrys::source::SourceFile::new("platform.toml", edited);
            let Err(berrys::CompileError::Diagnostics(diags)) =
                berrys::compile(&source, berrys::Envs::One(None))
            else {
                panic!("`{key}` in `env` of `{name}` was accepted");
            };
            assert!(
                diags.iter().any(|d| d.message.starts_with(&format!(
                    "`{key}` is set by berrys in the service ConfigMap: it is "
                ))),
                "{name} {key}: {diags:?}"
            );
            checked += 1;
        }
    }
    // orders: pool (5), host and port; storefront: two URLs.
    assert!(checked >= 9, "{checked} keys checked");
}
