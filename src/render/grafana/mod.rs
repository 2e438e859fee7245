//! Grafana dashboards: one per service, an SLO overview and a platform overview, as classic
//! dashboard JSON and as ConfigMaps for the Grafana sidecar.
//!
//! Dashboards are text in their natural form (`templates/grafana/*.json`, minijinja with
//! strict undefined and JSON auto-escaping); berrys supplies the data — queries built from
//! typed PromQL pieces, the configured numbers for threshold lines — and, after rendering,
//! parses the result, assigns panel ids and grid positions, and prints it canonically.
//! Service dashboards run the template once per shape, not once per service ([`Renderer`],
//! [`skeleton`]).

mod capacity;
mod context;
mod kustomization;
mod shape;
mod skeleton;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::graph::Compiled;
use crate::model::{Platform, Service};
use crate::output::OutputFile;
use crate::render::error::RenderError;
use crate::render::slo::slos;
use context::{Queries, platform_overview_context, service_context, slo_overview_context};
use skeleton::{Skeleton, context_markers, pretty_links, shape_of};

pub use kustomization::kustomization;

const TEMPLATES: [(&str, &str); 5] = [
    (
        "panels.json",
        include_str!("../../../templates/grafana/panels.json"),
    ),
    (
        "service.json",
        include_str!("../../../templates/grafana/service.json"),
    ),
    (
        "slo-overview.json",
        include_str!("../../../templates/grafana/slo-overview.json"),
    ),
    (
        "platform-overview.json",
        include_str!("../../../templates/grafana/platform-overview.json"),
    ),
    (
        "capacity.json",
        include_str!("../../../templates/grafana/capacity.json"),
    ),
];

/// One rendered dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Path under the output directory, e.g. `grafana/services/api-gateway.json`.
    pub path: String,
    /// Short name: the service's, `slo-overview` or `platform-overview`.
    pub name: String,
    pub uid: String,
    pub json: Value,
}

impl Dashboard {
    /// The file contents: pretty-printed JSON with a final newline.
    pub fn text(&self) -> Result<String, RenderError> {
        let mut text =
            serde_json::to_string_pretty(&self.json).map_err(|e| RenderError::Serialise {
                kind: "dashboard".to_string(),
                message: e.to_string(),
            })?;
        text.push('\n');
        Ok(text)
    }
}

/// A dashboard uid: readable (the dashboard's name) and unique per platform and environment
/// (a hash of both), at most 40 characters as Grafana requires.
pub fn uid(platform: &Platform, name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::new()
        .chain_update(&platform.name)
        .chain_update("/")
        .chain_update(&platform.env)
        .chain_update("/")
        .chain_update(name)
        .finalize();
    let readable = match name.char_indices().nth(29) {
        Some((end, _)) => &name[..end],
        None => name,
    };
    let mut uid = readable.trim_end_matches('-').to_string();
    uid.push('-');
    for b in &digest[..5] {
        uid.push(char::from(HEX[usize::from(b >> 4)]));
        uid.push(char::from(HEX[usize::from(b & 15)]));
    }
    uid
}

fn title(platform: &Platform, name: &str) -> String {
    if platform.env == "base" {
        format!("{} / {name}", platform.name)
    } else {
        format!("{} ({}) / {name}", platform.name, platform.env)
    }
}

/// Assigns panel ids and grid positions in reading order: rows take a line of their own,
/// panels flow left to right and wrap at Grafana's 24 columns.
fn layout(dashboard: &mut Value) {
    let Some(panels) = dashboard.get_mut("panels").and_then(Value::as_array_mut) else {
        return;
    };
    let (mut x, mut y, mut line_height) = (0u64, 0u64, 0u64);
    for (i, panel) in panels.iter_mut().enumerate() {
        let is_row = panel.get("type").and_then(Value::as_str) == Some("row");
        let size = |key: &str| {
            panel
                .pointer(&format!("/gridPos/{key}"))
                .and_then(Value::as_u64)
                .unwrap_or(1)
        };
        let (w, h) = (size("w").min(24), size("h"));
        if is_row || x + w > 24 {
            y += line_height;
            x = 0;
            line_height = 0;
        }
        panel["id"] = json!(i + 1);
        panel["gridPos"] = json!({ "h": h, "w": w, "x": x, "y": y });
        if is_row {
            y += h;
        } else {
            x += w;
            line_height = line_height.max(h);
        }
    }
}

fn json_error(e: serde_json::Error) -> RenderError {
    RenderError::serialise("dashboard context", e)
}

fn template_error(e: minijinja::Error) -> RenderError {
    RenderError::Serialise {
        kind: "dashboard template".to_string(),
        message: format!("{e:#}"),
    }
}

/// Renders dashboards: the templates are loaded once and shared by every thread.
///
/// Service dashboards differ from one another only in their values, and in the few things
/// the template branches on (which SLOs, how many pools, a rate limit, fixed or autoscaled
/// replicas). Each such *shape* is rendered through the template once, with a marker in
/// place of every value, and kept as a [`Skeleton`]; a service's dashboard is its skeleton
/// with the values written into the holes. The result is byte-for-byte what a template run
/// of its own would print (tested on every service of the reference and the fixtures), at a
/// small fraction of the cost: no template run, no JSON parse and re-print per service.
pub struct Renderer<'a> {
    compiled: &'a Compiled,
    env: minijinja::Environment<'static>,
    q: Queries<'a>,
    /// By shape key: a dashboard's JSON without its values, kilobytes long, hashed once per
    /// service (foldhash: SipHash was most of the lookup).
    skeletons: Mutex<HashMap<String, Arc<Skeleton>, foldhash::fast::FixedState>>,
    template_runs: AtomicUsize,
    text_shapes: AtomicUsize,
}

impl<'a> Renderer<'a> {
    pub fn new(compiled: &'a Compiled) -> Result<Renderer<'a>, RenderError> {
        let platform = &compiled.platform;
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).map_err(template_error)?;
        }
        let q = Queries {
            platform,
            datasource: json!({ "type": "prometheus", "uid": platform.observability.datasource }),
        };
        Ok(Renderer {
            compiled,
            env,
            q,
            skeletons: Mutex::new(HashMap::default()),
            template_runs: AtomicUsize::new(0),
            text_shapes: AtomicUsize::new(0),
        })
    }

    /// Runs a template, then parses its output, lays the panels out and prints it.
    fn render(
        &self,
        template: &str,
        name: &str,
        path: String,
        ctx: &Value,
    ) -> Result<Dashboard, RenderError> {
        self.template_runs.fetch_add(1, Ordering::Relaxed);
        let text = self
            .env
            .get_template(template)
            .and_then(|t| t.render(minijinja::value::Serde(ctx)))
            .map_err(template_error)?;
        let mut json: Value = serde_json::from_str(&text).map_err(|e| RenderError::Serialise {
            kind: format!("dashboard {template}"),
            message: format!("the template produced invalid JSON: {e}"),
        })?;
        layout(&mut json);
        Ok(Dashboard {
            path,
            name: name.to_string(),
            uid: uid(&self.compiled.platform, name),
            json,
        })
    }

    /// The dashboard of one service, through a template run of its own: what
    /// [`Renderer::service_file`] must print, and what it falls back to.
    pub fn service_by_template(&self, service: &Service) -> Result<Dashboard, RenderError> {
        let name = service.name.get_ref();
        let ctx = serde_json::to_value(service_context(&self.q, service)).map_err(json_error)?;
        self.render("service.json", name, service_path(name), &ctx)
    }

    /// How many times a template has run so far (skeletons, fallbacks and overviews).
    pub fn template_runs(&self) -> usize {
        self.template_runs.load(Ordering::Relaxed)
    }

    /// The dashboard of one service, parsed (for tests and tools that inspect it).
    pub fn service(&self, service: &Service) -> Result<Dashboard, RenderError> {
        let file = self.service_file(service)?;
        let name = service.name.get_ref();
        let json = serde_json::from_str(&file.contents).map_err(|e| RenderError::Serialise {
            kind: "dashboard".to_string(),
            message: e.to_string(),
        })?;
        Ok(Dashboard {
            path: file.path,
            name: name.clone(),
            uid: uid(&self.compiled.platform, name),
            json,
        })
    }

    /// The file of one service's dashboard: its shape's skeleton with its values filled in.
    pub fn service_file(&self, service: &Service) -> Result<OutputFile, RenderError> {
        let name = service.name.get_ref();
        let context = service_context(&self.q, service);
        let by_template = || -> Result<OutputFile, RenderError> {
            Ok(OutputFile::new(
                &service_path(name),
                self.service_by_template(service)?.text()?,
            ))
        };
        let json = || -> Result<String, RenderError> {
            // Sized for a typical context, which would otherwise grow through a dozen copies.
            let mut ctx = Vec::with_capacity(8 << 10);
            serde_json::to_writer(&mut ctx, &context).map_err(json_error)?;
            String::from_utf8(ctx).map_err(|e| RenderError::Serialise {
                kind: "dashboard context".to_string(),
                message: e.to_string(),
            })
        };
        // The shape read off the context as it is serialised; from its JSON text only when
        // the context holds something that walk does not model.
        let direct = shape::Shape::of(&context);
        let text;
        let text_key;
        let (key, mut values, links) = match &direct {
            Some(shape) => (shape.key.as_str(), shape.values(), shape.links),
            None => {
                self.text_shapes.fetch_add(1, Ordering::Relaxed);
                text = json()?;
                let (mut key, mut values) = (String::new(), Vec::new());
                let Some(links) = shape_of(&text, &mut key, &mut values) else {
                    return by_template();
                };
                text_key = key;
                (text_key.as_str(), values, links)
            }
        };
        let links = match links.map(|i| (i, pretty_links(&context.links))) {
            Some((i, Some(text))) => Some((i, text)),
            Some((_, None)) => return by_template(),
            None => None,
        };
        if let Some((i, text)) = &links {
            values[*i] = text;
        }
        let skeleton = self.skeleton(key, json)?;
        match skeleton.fill(&values) {
            Some(text) => Ok(OutputFile::new(&service_path(name), text)),
            // A value the skeleton cannot place (a fraction printed inside a text).
            None => by_template(),
        }
    }

    /// Service dashboards whose shape was read from their context's JSON text rather than
    /// off the context ([`shape::Shape`]): none on the platforms the tests render.
    #[cfg(test)]
    fn text_shapes(&self) -> usize {
        self.text_shapes.load(Ordering::Relaxed)
    }

    /// The skeleton of the shape `key`, made from `ctx` (a context of that shape, as JSON
    /// text) when it is new.
    fn skeleton(
        &self,
        key: &str,
        ctx: impl FnOnce() -> Result<String, RenderError>,
    ) -> Result<Arc<Skeleton>, RenderError> {
        let poisoned = || RenderError::Serialise {
            kind: "dashboard".to_string(),
            message: "a rendering thread failed".to_string(),
        };
        if let Some(s) = self.skeletons.lock().map_err(|_| poisoned())?.get(key) {
            return Ok(Arc::clone(s));
        }
        let ctx: Value = serde_json::from_str(&ctx()?).map_err(json_error)?;
        let mut next = 0;
        let marked = context_markers(&ctx, &mut next);
        let text = self
            .render("service.json", "", String::new(), &marked)?
            .text()?;
        let skeleton = Arc::new(Skeleton::parse(&text));
        let mut cache = self.skeletons.lock().map_err(|_| poisoned())?;
        Ok(Arc::clone(cache.entry(key.to_string()).or_insert(skeleton)))
    }

    /// The SLO overview (when the platform has SLOs) and the platform overview.
    pub fn overviews(&self) -> Result<Vec<Dashboard>, RenderError> {
        let mut out = Vec::new();
        if !slos(&self.compiled.platform).is_empty() {
            out.push(self.render(
                "slo-overview.json",
                "slo-overview",
                "grafana/slo-overview.json".to_string(),
                &slo_overview_context(&self.q),
            )?);
        }
        out.push(self.render(
            "platform-overview.json",
            "platform-overview",
            "grafana/platform-overview.json".to_string(),
            &platform_overview_context(&self.q, self.compiled),
        )?);
        out.push(self.render(
            "capacity.json",
            "capacity",
            "grafana/capacity.json".to_string(),
            &capacity::capacity_context(&self.q),
        )?);
        Ok(out)
    }
}

pub fn service_path(name: &str) -> String {
    format!("grafana/services/{name}.json")
}

/// Every dashboard of the platform, sorted by path.
pub fn dashboards(compiled: &Compiled) -> Result<Vec<Dashboard>, RenderError> {
    let renderer = Renderer::new(compiled)?;
    let mut out = renderer.overviews()?;
    for service in compiled.platform.services.values() {
        out.push(renderer.service(service)?);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every service dashboard's shape is read off its context as it is serialised, none
    /// from the context's JSON text (`tests/observability.rs` holds the dashboards made so
    /// to their own template runs).
    #[test]
    fn every_shape_is_read_off_its_context() {
        for compiled in crate::render::test_platforms::all() {
            let renderer = Renderer::new(&compiled).unwrap();
            for service in compiled.platform.services.values() {
                renderer.service_file(service).unwrap();
            }
            assert!(renderer.template_runs() > 0);
            assert_eq!(renderer.text_shapes(), 0, "{}", compiled.platform.name);
        }
    }

    #[test]
    fn layout_wraps_at_24_columns_and_rows_take_a_line() {
        let mut d = json!({ "panels": [
            { "type": "row", "gridPos": { "w": 24, "h": 1 } },
            { "type": "timeseries", "gridPos": { "w": 12, "h": 8 } },
            { "type": "timeseries", "gridPos": { "w": 12, "h": 6 } },
            { "type": "timeseries", "gridPos": { "w": 8, "h": 8 } },
            { "type": "row", "gridPos": { "w": 24, "h": 1 } },
            { "type": "timeseries", "gridPos": { "w": 8, "h": 8 } },
        ]});
        layout(&mut d);
        let pos: Vec<(u64, u64, u64)> = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_u64().unwrap(),
                    p["gridPos"]["x"].as_u64().unwrap(),
                    p["gridPos"]["y"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            pos,
            [
                (1, 0, 0),
                (2, 0, 1),
                (3, 12, 1),
                (4, 0, 9),
                (5, 0, 17),
                (6, 0, 18)
            ]
        );
    }
}
