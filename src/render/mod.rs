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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::Compiled;
use crate::emit::{self, EmitError, OutputFile};
use crate::model::Service;

/// Receives every rendered file once, possibly from several threads at a time.
pub type Sink<'a> = dyn Fn(OutputFile) -> Result<(), EmitError> + Sync + 'a;

/// Renders one compiled environment into the files of the output directory, sorted by path.
pub fn render(compiled: &Compiled) -> Result<Vec<OutputFile>, EmitError> {
    let files = Mutex::new((Vec::<OutputFile>::new(), HashMap::<String, usize>::new()));
    render_to(compiled, &|f| {
        let mut guard = files.lock().map_err(|_| poisoned())?;
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
    let (mut files, _) = files.into_inner().map_err(|_| poisoned())?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn poisoned() -> EmitError {
    EmitError::Serialise {
        kind: "output".to_string(),
        message: "a rendering thread failed".to_string(),
    }
}

/// The two rule files, written as the services' rule groups arrive, in service order:
/// a service's groups are serialised once and written to both files, never held until the
/// end (at 10,000 services they are 85 MB).
struct RuleStreams<'a> {
    sink: &'a Sink<'a>,
    rule_meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    state: Mutex<StreamState>,
    /// Held while a batch is written; whether the files have been started.
    writer: Mutex<bool>,
}

#[derive(Default)]
struct StreamState {
    /// The next service to write, and those done before their turn.
    next: usize,
    waiting: BTreeMap<usize, String>,
    /// Fragments whose turn has come, written together once they are large enough.
    batch: Vec<String>,
    batch_bytes: usize,
}

/// Bytes of fragments written at once: few writes, little memory.
const BATCH_BYTES: usize = 1 << 20;

impl RuleStreams<'_> {
    /// Service `i`'s fragment; queues every fragment whose turn has come and writes them
    /// when they are many. The writing happens outside the queue's lock (other services'
    /// fragments keep arriving meanwhile) but inside the writer's, taken before the queue's
    /// is released, so batches land in order.
    fn add(&self, i: usize, fragment: String) -> Result<(), EmitError> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        state.waiting.insert(i, fragment);
        loop {
            let next = state.next;
            let Some(fragment) = state.waiting.remove(&next) else {
                break;
            };
            state.next += 1;
            state.batch_bytes += fragment.len();
            state.batch.push(fragment);
        }
        if state.batch_bytes < BATCH_BYTES {
            return Ok(());
        }
        let batch = std::mem::take(&mut state.batch);
        state.batch_bytes = 0;
        let mut started = self.writer.lock().map_err(|_| poisoned())?;
        drop(state);
        self.write(&mut started, batch)
    }

    fn write(&self, started: &mut bool, batch: Vec<String>) -> Result<(), EmitError> {
        if batch.is_empty() {
            return Ok(());
        }
        if !*started {
            *started = true;
            (self.sink)(prometheus::rule_file_header())?;
            (self.sink)(prometheus::prometheus_rule_header(self.rule_meta.clone())?)?;
        }
        let shared = Arc::new(batch);
        for (path, indent) in [
            (prometheus::RULE_FILE_PATH, 0),
            (prometheus::PROMETHEUS_RULE_PATH, 2),
        ] {
            (self.sink)(
                OutputFile::new(path, String::new())
                    .followed_by(Arc::clone(&shared), indent)
                    .appended(),
            )?;
        }
        Ok(())
    }

    /// Writes what is left, or the files' empty form when no service had rule groups.
    fn finish(&self) -> Result<(), EmitError> {
        let batch = std::mem::take(&mut self.state.lock().map_err(|_| poisoned())?.batch);
        let mut started = self.writer.lock().map_err(|_| poisoned())?;
        self.write(&mut started, batch)?;
        if *started {
            return Ok(());
        }
        (self.sink)(prometheus::empty_rule_file()?)?;
        (self.sink)(prometheus::empty_prometheus_rule(self.rule_meta.clone())?)
    }
}

/// Renders one compiled environment, handing each file to `sink` as soon as it is made.
pub fn render_to(compiled: &Compiled, sink: &Sink<'_>) -> Result<(), EmitError> {
    let platform = &compiled.platform;
    let rules = prometheus::RuleRenderer::new(compiled)?;
    let dashboards = grafana::Renderer::new(compiled)?;
    let streams = RuleStreams {
        sink,
        rule_meta: kubernetes::platform_meta(
            platform,
            &format!("{}-rules", platform.name),
            Some(&platform.namespace),
        ),
        state: Mutex::new(StreamState::default()),
        writer: Mutex::new(false),
    };

    // Per service, on every core, taken in order: its manifests and its dashboard go
    // straight to the sink, its rule groups to the rule files as soon as their turn comes.
    let services: Vec<&Service> = platform.services.values().collect();
    let page_alerts = Mutex::new(Vec::new());
    crate::parallel::for_each_index(services.len(), |i| {
        let service = services[i];
        let docs = kubernetes::service_objects(compiled, service)?;
        sink(OutputFile::new(
            &format!("kubernetes/{}.yaml", service.name.get_ref()),
            emit::yaml_documents(&docs),
        ))?;
        sink(dashboards.service_file(service)?)?;
        let service_rules = rules.service_rules(service)?;
        page_alerts
            .lock()
            .map_err(|_| poisoned())?
            .push((i, service_rules.page_alerts));
        streams.add(i, service_rules.fragment)
    })?;
    streams.finish()?;
    let mut page_alerts = page_alerts.into_inner().map_err(|_| poisoned())?;
    page_alerts.sort_by_key(|(i, _)| *i);
    let page_alerts: Vec<prometheus::Rule> = page_alerts.into_iter().flat_map(|(_, p)| p).collect();

    // The promtool tests are the largest of the platform-wide files: made on a thread of
    // their own beside the others.
    std::thread::scope(|scope| {
        let tests = scope.spawn(move || sink(prometheus::promtool_tests(compiled, &page_alerts)?));
        let rest = platform_files(compiled, &services, &dashboards, sink);
        tests
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
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
        emit::yaml_document(generator),
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
