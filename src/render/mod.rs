//! Phase 6: everything berrys writes, as files.
//!
//! Rendering is a pure function of one compiled environment: no clock, no randomness, no
//! filesystem. Files are handed to a sink ([`crate::output::Sink`]) as soon as they are
//! made, from as many threads as there are cores, so a large platform never holds its
//! whole output in memory. Where the files land is not this module's business: the command
//! layer hands the sink of `crate::emit` in, or collects the files ([`render`]).
//!
//! [`kubernetes`], [`prometheus`], [`grafana`] and [`alertmanager`] say what each file holds; [`slo`] is the
//! SLO arithmetic the last two share. [`stream`] writes the files that take one piece per
//! service in service order.

pub mod alertmanager;
pub mod analysis;
pub mod capacity;
mod error;
pub mod grafana;
pub mod kubernetes;
pub mod prometheus;
pub mod promql;
pub mod slo;
mod stream;
#[cfg(test)]
mod test_platforms;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::graph::Compiled;
use crate::model::Service;
use crate::output::{OutputFile, Sink, WriteError};
use crate::yaml;

pub use error::RenderError;

/// Renders one compiled environment into the files of the output directory, sorted by path.
pub fn render(compiled: &Compiled) -> Result<Vec<OutputFile>, RenderError> {
    let files = Mutex::new((Vec::<OutputFile>::new(), HashMap::<String, usize>::new()));
    render_to(compiled, &|f| {
        let mut guard = files.lock().map_err(|_| WriteError::Thread)?;
        let (files, index) = &mut *guard;
        let f = f.joined();
        match index.get(&f.path) {
            Some(&i) if f.append => files[i].contents.push_str(&f.contents),
            _ => {
                index.insert(f.path.clone(), files.len());
                files.push(f);
            }
        }
        Ok(())
    })?;
    let (mut files, _) = files
        .into_inner()
        .map_err(|_| RenderError::Thread { kind: "output" })?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Renders one compiled environment, handing each file to `sink` as soon as it is made.
pub fn render_to(compiled: &Compiled, sink: &Sink<'_>) -> Result<(), RenderError> {
    let platform = &compiled.platform;
    let rules = prometheus::RuleRenderer::new(compiled)?;
    let dashboards = grafana::Renderer::new(compiled)?;
    let rule_meta = kubernetes::platform_meta(
        platform,
        &format!("{}-rules", platform.name),
        Some(&platform.namespace),
    );
    let rule_files = stream::Ordered::new(
        sink,
        prometheus::rule_files(rule_meta, platform.observability.operator)?,
    );

    // Per service, on every core, taken in order: its manifests and its dashboard go
    // straight to the sink, its rule groups to the rule files as soon as their turn comes.
    let services: Vec<&Service> = platform.services.values().collect();
    let page_alerts = Mutex::new(Vec::new());
    crate::parallel::for_each_index(services.len(), |i| -> Result<(), RenderError> {
        let service = services[i];
        sink(OutputFile::new(
            &crate::model::names::service_file(service.name.get_ref()),
            kubernetes::service_file(compiled, service)?,
        ))?;
        sink(dashboards.service_file(service)?)?;
        let service_rules = rules.service_rules(service)?;
        page_alerts
            .lock()
            .map_err(|_| RenderError::Thread {
                kind: "rule groups",
            })?
            .push((i, service_rules.page_alerts));
        rule_files.add(i, service_rules.fragment)
    })?;
    // The platform's capacity group follows the services' groups.
    let capacity = rules.capacity_group()?;
    if let Some(fragment) = prometheus::fragment(capacity.as_slice())? {
        rule_files.add(services.len(), fragment)?;
    }
    rule_files.finish()?;
    let mut page_alerts = page_alerts.into_inner().map_err(|_| RenderError::Thread {
        kind: "rule groups",
    })?;
    page_alerts.sort_by_key(|(i, _)| *i);
    // The alerts the promtool tests expect: pages, then the capacity alerts.
    let page_alerts: Vec<prometheus::Rule> = page_alerts
        .into_iter()
        .flat_map(|(_, p)| p)
        .chain(capacity.into_iter().flat_map(|g| g.rules))
        .collect();

    // The promtool tests are the largest of the platform-wide files: made on a thread of
    // their own beside the others.
    let (tests, rest) = crate::parallel::beside(
        move || -> Result<(), RenderError> {
            Ok(sink(prometheus::promtool_tests(compiled, &page_alerts)?)?)
        },
        || platform_files(compiled, &services, &dashboards, &rules, sink),
    );
    tests?;
    rest
}

/// The smaller platform-wide files: platform objects, adapter config, overview dashboards
/// and the kustomizations that list everything.
fn platform_files(
    compiled: &Compiled,
    services: &[&Service],
    dashboards: &grafana::Renderer<'_>,
    rules: &prometheus::RuleRenderer<'_>,
    sink: &Sink<'_>,
) -> Result<(), RenderError> {
    let platform = &compiled.platform;
    let mut resources: Vec<String> = services
        .iter()
        .map(|s| crate::model::names::service_file(s.name.get_ref()))
        .collect();
    sink(OutputFile::new(
        crate::model::names::PLATFORM_FILE,
        yaml::documents(&kubernetes::platform_objects(compiled)?),
    ))?;
    resources.push(crate::model::names::PLATFORM_FILE.to_string());
    if platform.observability.operator {
        resources.push(prometheus::PROMETHEUS_RULE_PATH.to_string());
    }

    let adapter_meta = kubernetes::platform_meta(
        platform,
        &format!("{}-prometheus-adapter", platform.name),
        Some(&platform.observability.prometheus_namespace),
    );
    sink(OutputFile::new(
        "prometheus/adapter-config.yaml",
        yaml::documents(&[prometheus::adapter_config_map(platform, adapter_meta)?]),
    ))?;
    resources.push("prometheus/adapter-config.yaml".to_string());
    if let Some(tests) = prometheus::analysis_tests::analysis_tests(compiled)? {
        sink(tests)?;
    }
    for file in alertmanager::files(compiled, rules)? {
        if file.path == alertmanager::ALERTMANAGER_CONFIG_PATH {
            resources.push(file.path.clone());
        }
        sink(file)?;
    }

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
        yaml::document(generator),
    ))?;
    // A directory with its own kustomization: kustomize generates the ConfigMaps there.
    resources.push("grafana".to_string());

    resources.sort();
    sink(OutputFile::new(
        "kustomization.yaml",
        yaml::documents(&[kubernetes::kustomization(resources)?]),
    ))?;
    Ok(())
}
