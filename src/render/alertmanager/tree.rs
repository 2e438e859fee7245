//! The routing of one platform, independent of how it is written: the route tree by team
//! and severity, and the inhibitions. [`super::config`] writes it as Alertmanager's own
//! configuration, [`super::operator`] as an `AlertmanagerConfig`.

use crate::graph::Compiled;
use crate::model::alerting::{Alerting, Severity};
use crate::render::prometheus::operational::SERVICE_DOWN;
use crate::render::prometheus::{PAGE_ALERT, TICKET_ALERT};

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Equal,
    Regex,
}

impl MatchType {
    pub fn operator(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::Regex => "=~",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub match_type: MatchType,
}

impl Matcher {
    fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_string(),
            value: value.to_string(),
            match_type: MatchType::Equal,
        }
    }

    /// Matches any of `values`, each taken literally.
    fn any_of<S: AsRef<str>>(name: &str, values: &[S]) -> Matcher {
        let alternatives: Vec<String> = values.iter().map(|v| regex_literal(v.as_ref())).collect();
        Matcher {
            name: name.to_string(),
            value: alternatives.join("|"),
            match_type: MatchType::Regex,
        }
    }

    /// The severity class: berrys' value and its community alias.
    fn severity(severity: Severity) -> Matcher {
        Matcher::any_of("severity", severity.label_values())
    }

    /// Alertmanager's matcher syntax, `name="value"` with the value quoted.
    pub fn text(&self) -> String {
        let mut quoted = String::with_capacity(self.value.len() + 2);
        quoted.push('"');
        for c in self.value.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\n' => quoted.push_str("\\n"),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        format!("{}{}{quoted}", self.name, self.match_type.operator())
    }
}

/// `value` as a regular expression that matches exactly it.
fn regex_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A child route: the first whose matchers all match takes the alert (none continues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub matchers: Vec<Matcher>,
    pub receiver: String,
    pub routes: Vec<Route>,
}

/// Alerts matching `target` are not sent while one matching `source` fires with the same
/// values of the `equal` labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inhibition {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<&'static str>,
}

/// The whole routing of a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// Where an alert no child route takes goes: the platform's ticket receiver, so an
    /// alert of a severity berrys does not know is still seen.
    pub receiver: String,
    pub group_by: Vec<String>,
    pub repeat_interval: String,
    /// The teams' routes, then the platform's severities.
    pub routes: Vec<Route>,
    pub inhibitions: Vec<Inhibition>,
}

/// The routing of a platform with `[alerting]`.
pub fn routing(compiled: &Compiled, alerting: &Alerting) -> Routing {
    let mut routes: Vec<Route> = alerting
        .teams
        .keys()
        .map(|team| Route {
            matchers: vec![Matcher::equal("team", team)],
            receiver: alerting
                .destination(Some(team), Severity::Ticket)
                .receiver
                .to_string(),
            routes: severity_routes(alerting, Some(team)),
        })
        .collect();
    routes.extend(severity_routes(alerting, None));
    Routing {
        receiver: alerting
            .destination(None, Severity::Ticket)
            .receiver
            .to_string(),
        group_by: alerting.group_by.clone(),
        repeat_interval: alerting.repeat_interval.to_string(),
        routes,
        inhibitions: inhibitions(compiled, alerting),
    }
}

fn severity_routes(alerting: &Alerting, team: Option<&str>) -> Vec<Route> {
    Severity::ALL
        .into_iter()
        .map(|severity| Route {
            matchers: vec![Matcher::severity(severity)],
            receiver: alerting.destination(team, severity).receiver.to_string(),
            routes: Vec::new(),
        })
        .collect()
}

/// Page inhibits ticket for the same SLO; with `inhibit_dependents`, a service's
/// ServiceDown inhibits the page and ticket alerts of every service that hard-depends on
/// it, directly or through others (soft dependencies keep working without it, so their
/// alerts say something of their own).
fn inhibitions(compiled: &Compiled, alerting: &Alerting) -> Vec<Inhibition> {
    let mut out = vec![Inhibition {
        source: vec![
            Matcher::equal("alertname", PAGE_ALERT),
            Matcher::severity(Severity::Page),
        ],
        target: vec![
            Matcher::equal("alertname", TICKET_ALERT),
            Matcher::severity(Severity::Ticket),
        ],
        equal: vec!["namespace", "sloth_id"],
    }];
    if !alerting.inhibit_dependents {
        return out;
    }
    let graph = &compiled.graph;
    let urgent: Vec<&str> = [Severity::Page, Severity::Ticket]
        .iter()
        .flat_map(|s| s.label_values().iter().copied())
        .collect();
    for (cause, dependents) in graph.hard_dependents_closure().iter().enumerate() {
        if dependents.is_empty() {
            continue;
        }
        let names: Vec<&str> = dependents
            .iter()
            .map(|&d| graph.services[d].as_str())
            .collect();
        out.push(Inhibition {
            source: vec![
                Matcher::equal("alertname", SERVICE_DOWN),
                Matcher::equal("service", &graph.services[cause]),
            ],
            target: vec![
                Matcher::any_of("service", &names),
                Matcher::any_of("severity", &urgent),
            ],
            equal: vec!["namespace"],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_quote_and_escape_their_values() {
        assert_eq!(Matcher::equal("team", "a\"b").text(), r#"team="a\"b""#);
        assert_eq!(
            Matcher::severity(Severity::Page).text(),
            r#"severity=~"page|critical""#
        );
        assert_eq!(
            Matcher::any_of("service", &["a.b", "c"]).text(),
            r#"service=~"a\\.b|c""#
        );
    }

    #[test]
    fn regex_literals_escape_every_metacharacter() {
        assert_eq!(regex_literal("a+b(c)"), r"a\+b\(c\)");
        assert_eq!(regex_literal("web-1"), "web-1");
    }
}
