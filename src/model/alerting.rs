//! `[alerting]`, resolved: the receivers, the receiver of each severity (per team where a
//! team sets its own), and how alerts are grouped and inhibited.

use std::collections::BTreeMap;
use std::ops::Range;

use super::Sp;
use crate::units::Duration;

/// The built-in receiver that drops what reaches it.
pub const NONE_RECEIVER: &str = "none";

/// The alert classes of the platform, by the `severity` label berrys' alerts carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Critical: immediate response.
    Page,
    /// Warning: within 15 minutes.
    Ticket,
    /// Dashboards only.
    Info,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Page, Severity::Ticket, Severity::Info];

    /// The `severity` label value berrys writes.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
            Severity::Info => "info",
        }
    }

    /// Every `severity` value routed as this class: berrys' own, and the name the same
    /// class has in the community's rules (kube-prometheus' `critical` and `warning`), so
    /// the platform's other alerts are not dropped for their spelling.
    pub fn label_values(self) -> &'static [&'static str] {
        match self {
            Severity::Page => &["page", "critical"],
            Severity::Ticket => &["ticket", "warning"],
            Severity::Info => &["info"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Alerting {
    /// The `[alerting]` table.
    pub span: Range<usize>,
    pub group_by: Vec<String>,
    pub repeat_interval: Duration,
    pub inhibit_dependents: bool,
    pub receivers: BTreeMap<String, Receiver>,
    pub routes: SeverityRoutes,
    pub teams: BTreeMap<String, Team>,
}

/// A receiver and where it sends alerts; at least one of its channels is set.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub name: Sp<String>,
    pub pagerduty: Option<SecretKey>,
    pub webhook: Option<String>,
    pub slack: Option<Slack>,
}

/// A key of a Kubernetes Secret in the Alertmanager's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKey {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Slack {
    pub channel: String,
    pub api_url: SecretKey,
}

/// The receiver of each severity, as written; `None`: not set.
#[derive(Debug, Clone, Default)]
pub struct SeverityRoutes {
    pub page: Option<Sp<String>>,
    pub ticket: Option<Sp<String>>,
    pub info: Option<Sp<String>>,
}

impl SeverityRoutes {
    pub fn get(&self, severity: Severity) -> Option<&Sp<String>> {
        match severity {
            Severity::Page => self.page.as_ref(),
            Severity::Ticket => self.ticket.as_ref(),
            Severity::Info => self.info.as_ref(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Team {
    pub name: Sp<String>,
    pub routes: SeverityRoutes,
}

/// Where the alerts of one severity of one service go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination<'a> {
    /// A receiver's name, or [`NONE_RECEIVER`].
    pub receiver: &'a str,
    /// The route that decides it, as written; `None` when no route sets the severity.
    pub span: Option<Range<usize>>,
}

impl Alerting {
    /// Where alerts of `severity` from a service of `team` go: the team's route when it
    /// sets that severity, else the platform's, else nowhere.
    pub fn destination(&self, team: Option<&str>, severity: Severity) -> Destination<'_> {
        let team_route = team
            .and_then(|t| self.teams.get(t))
            .and_then(|t| t.routes.get(severity));
        match team_route.or(self.routes.get(severity)) {
            Some(route) => Destination {
                receiver: route.get_ref(),
                span: Some(route.span()),
            },
            None => Destination {
                receiver: NONE_RECEIVER,
                span: None,
            },
        }
    }

    /// Every route that names a receiver, with its span: the platform's, then the teams'.
    pub fn route_references(&self) -> impl Iterator<Item = &Sp<String>> {
        std::iter::once(&self.routes)
            .chain(self.teams.values().map(|t| &t.routes))
            .flat_map(|r| Severity::ALL.into_iter().filter_map(|s| r.get(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, at: usize) -> Option<Sp<String>> {
        Some(Sp::new(at..at + name.len(), name.to_string()))
    }

    fn alerting() -> Alerting {
        Alerting {
            span: 0..0,
            group_by: vec![],
            repeat_interval: Duration::from_secs(4 * 3600),
            inhibit_dependents: true,
            receivers: BTreeMap::new(),
            routes: SeverityRoutes {
                page: route("oncall", 10),
                ticket: route("tickets", 20),
                info: None,
            },
            teams: BTreeMap::from([(
                "agents".to_string(),
                Team {
                    name: Sp::new(30..36, "agents".to_string()),
                    routes: SeverityRoutes {
                        page: route("agents-oncall", 40),
                        ..SeverityRoutes::default()
                    },
                },
            )]),
        }
    }

    #[test]
    fn a_team_route_wins_and_an_unset_one_falls_back_to_the_platform() {
        let a = alerting();
        assert_eq!(
            a.destination(Some("agents"), Severity::Page).receiver,
            "agents-oncall"
        );
        assert_eq!(
            a.destination(Some("agents"), Severity::Ticket).receiver,
            "tickets"
        );
        assert_eq!(a.destination(None, Severity::Page).receiver, "oncall");
        let info = a.destination(Some("agents"), Severity::Info);
        assert_eq!((info.receiver, info.span), (NONE_RECEIVER, None));
    }

    #[test]
    fn route_references_list_platform_then_teams() {
        let alerting = alerting();
        let names: Vec<&str> = alerting
            .route_references()
            .map(|r| r.get_ref().as_str())
            .collect();
        assert_eq!(names, ["oncall", "tickets", "agents-oncall"]);
    }
}
