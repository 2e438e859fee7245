//! Phase 6: everything berrys writes, as in-memory files.
//!
//! Rendering is a pure function of one compiled environment: no clock, no randomness, no
//! filesystem. [`crate::emit`] decides where and how the files land.

pub mod grafana;
pub mod kubernetes;
pub mod prometheus;
pub mod promql;

use crate::Compiled;
use crate::emit::{self, OutputFile};

/// Renders one compiled environment into the files of the output directory, sorted by path.
pub fn render(compiled: &Compiled) -> Result<Vec<OutputFile>, emit::EmitError> {
    let mut files = Vec::new();
    let mut resources = Vec::new();

    let platform_docs = kubernetes::platform_objects(compiled)?;
    files.push(OutputFile::new(
        "kubernetes/platform.yaml",
        emit::yaml_documents(&platform_docs),
    ));
    resources.push("kubernetes/platform.yaml".to_string());

    for service in compiled.platform.services.values() {
        let docs = kubernetes::service_objects(compiled, service)?;
        let path = format!("kubernetes/{}.yaml", service.name.get_ref());
        files.push(OutputFile::new(&path, emit::yaml_documents(&docs)));
        resources.push(path);
    }

    let platform = &compiled.platform;
    let groups = prometheus::rule_groups(compiled)?;
    files.push(OutputFile::new(
        "prometheus/rules.yaml",
        emit::yaml_documents(&[prometheus::rule_file(&groups)?]),
    ));
    files.push(OutputFile::new(
        "prometheus/rules.test.yaml",
        emit::yaml_documents(&[prometheus::promtool_tests(compiled, &groups)?]),
    ));
    let rule_meta = kubernetes::platform_meta(
        platform,
        &format!("{}-rules", platform.name),
        Some(&platform.namespace),
    );
    files.push(OutputFile::new(
        "prometheus/prometheusrule.yaml",
        emit::yaml_documents(&[prometheus::prometheus_rule(&groups, rule_meta)?]),
    ));
    resources.push("prometheus/prometheusrule.yaml".to_string());
    let adapter_meta = kubernetes::platform_meta(
        platform,
        &format!("{}-prometheus-adapter", platform.name),
        Some(&platform.observability.prometheus_namespace),
    );
    files.push(OutputFile::new(
        "prometheus/adapter-config.yaml",
        emit::yaml_documents(&[prometheus::adapter_config_map(platform, adapter_meta)?]),
    ));
    resources.push("prometheus/adapter-config.yaml".to_string());

    let dashboards = grafana::dashboards(compiled)?;
    for d in &dashboards {
        files.push(OutputFile::new(&d.path, d.text()?));
    }
    let generator = grafana::kustomization(platform, &dashboards, |name| {
        kubernetes::platform_meta(platform, name, None)
    })?;
    files.push(OutputFile::new(
        "grafana/kustomization.yaml",
        emit::yaml_documents(&[generator]),
    ));
    // A directory with its own kustomization: kustomize generates the ConfigMaps there.
    resources.push("grafana".to_string());

    resources.sort();
    files.push(OutputFile::new(
        "kustomization.yaml",
        emit::yaml_documents(&[kubernetes::kustomization(resources)?]),
    ));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
