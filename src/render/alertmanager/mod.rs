//! Alert routing (SPEC §7): who is told of the alerts the rules make. One routing, made
//! from `[alerting]` and the hard dependency graph ([`tree`]), written as Alertmanager's
//! configuration ([`config`]) and, where the cluster runs the Prometheus operator, as an
//! `AlertmanagerConfig` ([`operator`]); and the cases that prove it routes as written
//! ([`routing_tests`]).

mod config;
mod operator;
mod routing_tests;
pub mod tree;

use crate::graph::Compiled;
use crate::model::Service;
use crate::output::OutputFile;
use crate::render::RenderError;
use crate::render::kubernetes::platform_meta;
use crate::render::prometheus::RuleRenderer;
use crate::yaml::{self, Document};

pub use config::SECRETS_DIR;

pub const CONFIG_PATH: &str = "alertmanager/alertmanager.yaml";
pub const ALERTMANAGER_CONFIG_PATH: &str = "alertmanager/alertmanagerconfig.yaml";
pub const ROUTING_TESTS_PATH: &str = "alertmanager/routing-tests.yaml";

/// The files of `alertmanager/`; none without `[alerting]`.
pub fn files(
    compiled: &Compiled,
    rules: &RuleRenderer<'_>,
) -> Result<Vec<OutputFile>, RenderError> {
    let platform = &compiled.platform;
    let Some(alerting) = &platform.alerting else {
        return Ok(Vec::new());
    };
    let routing = tree::routing(compiled, alerting);
    let mut files = vec![OutputFile::new(
        CONFIG_PATH,
        yaml::document(Document::new(&config::config(&routing, alerting))?),
    )];
    if platform.observability.operator {
        let metadata = platform_meta(
            platform,
            &format!("{}-alerting", platform.name),
            Some(&platform.namespace),
        );
        let object = operator::alertmanager_config(&routing, alerting, metadata);
        files.push(OutputFile::new(
            ALERTMANAGER_CONFIG_PATH,
            yaml::documents(&[Document::new(&object)?]),
        ));
    }
    // A piece per service, on every core: its alerts, its cases, their text.
    let services: Vec<&Service> = platform.services.values().collect();
    let mut pieces = crate::parallel::map(&services, |service| {
        let alerts = rules.first_alert_by_severity(service)?;
        routing_tests::piece(&routing_tests::service_cases(alerting, service, &alerts))
    })
    .into_iter()
    .collect::<Result<Vec<String>, RenderError>>()?;
    if let Some(group) = rules.capacity_group()? {
        let cases = routing_tests::platform_cases(alerting, &group.rules);
        if !cases.is_empty() {
            pieces.push(routing_tests::piece(&cases)?);
        }
    }
    let head = routing_tests::head()?;
    files.push(
        OutputFile::new(ROUTING_TESTS_PATH, head.text)
            .followed_by(std::sync::Arc::new(pieces), head.column),
    );
    Ok(files)
}
