//! Phase 6: everything berrys writes, as files.
//!
//! Rendering is a pure function of one compiled environment: no clock, no randomness, no
//! filesystem. Files are handed to a sink as soon as they are made, from as many threads as
//! there are cores, so a large platform never holds its whole output in memory;
//! [`crate::emit`] decides where and how the files land.

pub mod grafana;
pub mod kubernetes;
pub mod prometheus;
pub mod promql;

use std::sync::{Arc, Mutex};

use crate::Compiled;
use crate::emit::{self, EmitError, OutputFile};
use crate::model::Service;

/// Receives every rendered file once, possibly from several threads at a time.
pub type Sink<'a> = dyn Fn(OutputFile) -> Result<(), EmitError> + Sync + 'a;

/// Renders one compiled environment into the files of the output directory, sorted by path.
pub fn render(compiled: &Compiled) -> Result<Vec<OutputFile>, EmitError> {
    let files = Mutex::new(Vec::new());
    render_to(compiled, &|f| {
        files.lock().map_err(|_| poisoned())?.push(f.joined());
        Ok(())
    })?;
    let mut files = files.into_inner().map_err(|_| poisoned())?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn poisoned() -> EmitError {
    EmitError::Serialise {
        kind: "output".to_string(),
        message: "a rendering thread failed".to_string(),
    }
}

/// What one service contributes to the platform-wide files.
struct ServiceParts {
    /// Its rule groups as YAML sequence items, for both rule files, when it has any.
    rules: Option<String>,
    /// Its SLOs' page alerts, for the generated promtool tests.
    page_alerts: Vec<prometheus::Rule>,
}

/// Renders one compiled environment, handing each file to `sink` as soon as it is made.
pub fn render_to(compiled: &Compiled, sink: &Sink<'_>) -> Result<(), EmitError> {
    let platform = &compiled.platform;
    let rules = prometheus::RuleRenderer::new(compiled)?;
    let dashboards = grafana::Renderer::new(compiled)?;

    // Per service, in parallel: its manifests and its dashboard go straight to the sink;
    // its rule groups come back as text, in service order, for the two rule files.
    let services: Vec<&Service> = platform.services.values().collect();
    let per_service = crate::parallel_map(&services, |service| {
        let docs = kubernetes::service_objects(compiled, service)?;
        sink(OutputFile::new(
            &format!("kubernetes/{}.yaml", service.name.get_ref()),
            emit::yaml_documents(&docs),
        ))?;
        sink(dashboards.service_file(service)?)?;
        let groups = rules.service_groups(service)?;
        let page_alerts = groups
            .iter()
            .flat_map(|g| &g.rules)
            .filter(|r| r.alert.as_deref() == Some(prometheus::PAGE_ALERT))
            .cloned()
            .collect();
        Ok::<_, EmitError>(ServiceParts {
            rules: prometheus::fragment(&groups)?,
            page_alerts,
        })
    });
    let mut page_alerts = Vec::new();
    let mut fragments = Vec::new();
    for p in per_service {
        let p = p?;
        page_alerts.extend(p.page_alerts);
        fragments.extend(p.rules);
    }
    let fragments = Arc::new(fragments);

    // The platform-wide files are independent of one another: the large ones (the two rule
    // files, the promtool tests) are made and written on threads of their own.
    let rule_meta = kubernetes::platform_meta(
        platform,
        &format!("{}-rules", platform.name),
        Some(&platform.namespace),
    );
    std::thread::scope(|scope| {
        let tests = scope.spawn(move || {
            sink(OutputFile::new(
                "prometheus/rules.test.yaml",
                emit::yaml_documents(&[prometheus::promtool_tests(compiled, &page_alerts)?]),
            ))
        });
        let shared = Arc::clone(&fragments);
        let prometheus_rule =
            scope.spawn(move || sink(prometheus::prometheus_rule_from(shared, rule_meta)?));
        let rest = sink(prometheus::rule_file_from(fragments)?)
            .and_then(|()| platform_files(compiled, &services, &dashboards, sink));
        for handle in [tests, prometheus_rule] {
            handle
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
        }
        rest
    })
}

/// The smaller platform-wide files: platform objects, adapter config, overview dashboards
/// and the kustomizations that list everything.
fn platform_files(
    compiled: &Compiled,
    services: &[&Service],
    dashboards: &grafana::Renderer<'_>,
    sink: &Sink<'_>,
) -> Result<(), EmitError> {
    let platform = &compiled.platform;
    let mut resources: Vec<String> = services
        .iter()
        .map(|s| format!("kubernetes/{}.yaml", s.name.get_ref()))
        .collect();
    sink(OutputFile::new(
        "kubernetes/platform.yaml",
        emit::yaml_documents(&kubernetes::platform_objects(compiled)?),
    ))?;
    resources.push("kubernetes/platform.yaml".to_string());
    resources.push(prometheus::PROMETHEUS_RULE_PATH.to_string());

    let adapter_meta = kubernetes::platform_meta(
        platform,
        &format!("{}-prometheus-adapter", platform.name),
        Some(&platform.observability.prometheus_namespace),
    );
    sink(OutputFile::new(
        "prometheus/adapter-config.yaml",
        emit::yaml_documents(&[prometheus::adapter_config_map(platform, adapter_meta)?]),
    ))?;
    resources.push("prometheus/adapter-config.yaml".to_string());

    let mut generated: Vec<(String, String)> = services
        .iter()
        .map(|s| {
            let name = s.name.get_ref();
            (name.clone(), grafana::service_path(name))
        })
        .collect();
    for d in dashboards.overviews()? {
        generated.push((d.name.clone(), d.path.clone()));
        sink(OutputFile::new(&d.path, d.text()?))?;
    }
    generated.sort_by(|a, b| a.1.cmp(&b.1));
    let generator = grafana::kustomization(platform, &generated, |name| {
        kubernetes::platform_meta(platform, name, None)
    })?;
    sink(OutputFile::new(
        "grafana/kustomization.yaml",
        emit::yaml_documents(&[generator]),
    ))?;
    // A directory with its own kustomization: kustomize generates the ConfigMaps there.
    resources.push("grafana".to_string());

    resources.sort();
    sink(OutputFile::new(
        "kustomization.yaml",
        emit::yaml_documents(&[kubernetes::kustomization(resources)?]),
    ))?;
    Ok(())
}
