//! Rule groups made from patterns: the reuse of serialised rule groups across services.
//!
//! The groups of one SLO, and a service's operational group, differ from those of the
//! next of their kind only in names (the service's, its datastores'). Each kind is built
//! and serialised once with placeholders for the names ([`Placeholders`]); every group of
//! the kind is that pattern filled with its names, without building its rules and queries
//! again.
//!
//! A pattern is keyed on the very value its groups are built from, with the names replaced
//! by placeholders: an SLO ([`Slo`]) and an [`OperationalInputs`]. The builders read
//! nothing but that value (and what is fixed for the whole render: the observability
//! settings and the annotation templates), so two groups with equal keys
//! are the same groups but for their names. Each pattern is also checked once, against
//! the first group it is made for, built and serialised directly; a pattern that differs
//! is not used.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use foldhash::fast::FixedState;

use super::annotations::Annotations;
use super::operational::{self, OperationalInputs};
use super::slo_rules::{PAGE_ALERT, TICKET_ALERT, slo_groups};
use super::{Rule, page_alerts};
use crate::model::Observability;
use crate::render::error::RenderError;
use crate::render::slo::Slo;
use crate::yaml::{self, Placeholders};

/// Groups of one kind needed for a pattern to pay: making one costs about three groups
/// built directly.
const MIN_SHARED: usize = 4;

/// Whether `name` goes into queries, labels and URLs as it is: letters, digits, `-`, `_`
/// and `.` (nothing PromQL or the runbook URL would escape).
fn name_as_it_is(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// An SLO's three groups with its service's name left out, and its page alert likewise.
struct SloPattern {
    groups: Placeholders,
    page: Rule,
}

impl SloPattern {
    /// The groups' YAML (as a list) and the page alert of the SLO of service `name`.
    fn fill(&self, name: &str) -> Option<(String, Rule)> {
        let text = self.groups.fill(&[name])?;
        let placeholder = Placeholders::placeholder(0);
        let named = |s: &String| s.replace(placeholder, name);
        let page = Rule {
            record: self.page.record.as_ref().map(named),
            alert: self.page.alert.as_ref().map(named),
            expr: named(&self.page.expr),
            for_: self.page.for_.as_ref().map(named),
            labels: self
                .page
                .labels
                .iter()
                .map(|(k, v)| (named(k), named(v)))
                .collect(),
            annotations: self
                .page
                .annotations
                .iter()
                .map(|(k, v)| (named(k), named(v)))
                .collect(),
        };
        Some((text, page))
    }
}

/// The pattern key of `slo`: the SLO with a placeholder for its service's name, or `None`
/// when its name does not go into the strings as it is.
fn slo_key(slo: &Slo) -> Option<Slo> {
    if slo.id != format!("{}-{}", slo.service, slo.slo) || !name_as_it_is(&slo.service) {
        return None;
    }
    let placeholder = Placeholders::placeholder(0);
    Some(Slo {
        id: format!("{placeholder}-{}", slo.slo),
        service: placeholder.to_string(),
        ..slo.clone()
    })
}

/// The pattern key of a service's operational group: its inputs with placeholders for
/// its names, or `None` when a name does not go into the strings as it is or there are more
/// names than placeholders.
fn operational_key<'p>(inputs: &OperationalInputs<'p>) -> Option<OperationalInputs<'p>> {
    let names = inputs.names();
    if names.len() > Placeholders::MAX || !names.iter().all(|n| name_as_it_is(n)) {
        return None;
    }
    Some(inputs.with_placeholders(Placeholders::placeholder))
}

/// Patterns of one kind of rule group, made as the first group of each kind needs them and
/// shared by every thread.
struct Patterns<K, V> {
    /// The kinds enough groups share for a pattern to pay (none when the alerts'
    /// annotations do more than substitute).
    kinds: HashSet<K, FixedState>,
    /// `None` for a kind whose pattern is not used.
    made: Mutex<HashMap<K, Option<Arc<V>>, FixedState>>,
}

impl<K: Hash + Eq, V> Patterns<K, V> {
    /// Patterns for the kinds that at least [`MIN_SHARED`] of `keys` have, when `apply`.
    fn new(apply: bool, keys: impl Iterator<Item = K>) -> Self {
        let mut counts = HashMap::<K, usize, FixedState>::default();
        if apply {
            for key in keys {
                *counts.entry(key).or_insert(0usize) += 1;
            }
        }
        Patterns {
            kinds: counts
                .into_iter()
                .filter(|&(_, n)| n >= MIN_SHARED)
                .map(|(key, _)| key)
                .collect(),
            made: Mutex::default(),
        }
    }

    /// The pattern of kind `key`, from `make` the first time it is asked for; `None` for a
    /// kind too rare for a pattern, or whose pattern `make` refused.
    fn get(
        &self,
        key: K,
        make: impl FnOnce(&K) -> Result<Option<V>, RenderError>,
    ) -> Result<Option<Arc<V>>, RenderError> {
        if !self.kinds.contains(&key) {
            return Ok(None);
        }
        let poisoned = || RenderError::Thread {
            kind: "rule groups",
        };
        if let Some(known) = self.made.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(known.clone());
        }
        let made = make(&key)?.map(Arc::new);
        let mut patterns = self.made.lock().map_err(|_| poisoned())?;
        Ok(patterns.entry(key).or_insert(made).clone())
    }

    /// The patterns made and used, and those made and refused.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let used = made.values().filter(|p| p.is_some()).count();
        (used, made.len() - used)
    }
}

/// The rule-group patterns of one render.
pub struct RulePatterns<'p> {
    observability: &'p Observability,
    slo: Patterns<Slo, SloPattern>,
    operational: Patterns<OperationalInputs<'p>, Placeholders>,
}

impl<'p> RulePatterns<'p> {
    /// Patterns for the kinds of `slos` and `services` (the operational inputs of every
    /// service) that are common enough; none where an alert's annotations do more than
    /// substitute, which would not put a name in as it is.
    pub fn new(
        observability: &'p Observability,
        annotations: &Annotations,
        slos: &[Slo],
        services: &[OperationalInputs<'p>],
    ) -> RulePatterns<'p> {
        let slo = Patterns::new(
            annotations.is_plain(PAGE_ALERT) && annotations.is_plain(TICKET_ALERT),
            slos.iter().filter_map(slo_key),
        );
        let operational = Patterns::new(
            operational::ALERTS.iter().all(|a| annotations.is_plain(a)),
            services.iter().filter_map(operational_key),
        );
        RulePatterns {
            observability,
            slo,
            operational,
        }
    }

    /// The groups of `slo` as a YAML list, and its page alert, from its kind's pattern;
    /// `None` when no pattern applies.
    pub fn slo(
        &self,
        slo: &Slo,
        annotations: &Annotations,
    ) -> Result<Option<(String, Rule)>, RenderError> {
        let Some(key) = slo_key(slo) else {
            return Ok(None);
        };
        let pattern = self.slo.get(key, |key| {
            let groups = slo_groups(self.observability, key, annotations)?;
            let (Some(layout), Some(page)) = (
                Placeholders::new(&groups, 1),
                page_alerts(&groups).next().cloned(),
            ) else {
                return Ok(None);
            };
            let pattern = SloPattern {
                groups: layout,
                page,
            };
            let direct = slo_groups(self.observability, slo, annotations)?;
            let same = pattern.fill(&slo.service).is_some_and(|(text, page)| {
                Some(&page) == page_alerts(&direct).next()
                    && yaml::recurring(&direct).is_ok_and(|d| d == text)
            });
            Ok(same.then_some(pattern))
        })?;
        Ok(pattern.and_then(|p| p.fill(&slo.service)))
    }

    /// The operational group of the service `inputs` describes, as a YAML list, from its
    /// kind's pattern; `None` when no pattern applies.
    pub fn operational(
        &self,
        inputs: &OperationalInputs<'p>,
        annotations: &Annotations,
    ) -> Result<Option<String>, RenderError> {
        let Some(key) = operational_key(inputs) else {
            return Ok(None);
        };
        let names = inputs.names();
        let pattern = self.operational.get(key, |key| {
            let group = operational::group(key, annotations)?;
            // A slice, not an array: an array is a tuple to serde, which a pattern refuses.
            let Some(pattern) = Placeholders::new(&std::slice::from_ref(&group), names.len())
            else {
                return Ok(None);
            };
            let direct = yaml::recurring(&[operational::group(inputs, annotations)?])?;
            Ok((pattern.fill(&names).as_deref() == Some(direct.as_str())).then_some(pattern))
        })?;
        Ok(pattern.and_then(|p| p.fill(&names)))
    }

    /// Patterns made and used, and made and refused: of SLO groups, then of operational
    /// groups.
    #[cfg(test)]
    pub fn counts(&self) -> [(usize, usize); 2] {
        [self.slo.counts(), self.operational.counts()]
    }
}

/// Groups of one kind of rule group, laid out once per kind, must equal those built and
/// serialised directly on every service of the reference, the fixtures and a generated
/// platform (the tests of `tests/emit.rs` compare the whole render); here, that the
/// patterns are actually made and none is refused.
#[cfg(test)]
mod tests {
    use super::super::RuleRenderer;

    #[test]
    fn generated_platforms_share_few_patterns_and_none_is_refused() {
        let compiled = crate::render::test_platforms::generated(300, 7);
        let rules = RuleRenderer::new(&compiled).unwrap();
        let mut services = 0;
        for service in compiled.platform.services.values() {
            rules.service_rules(service).unwrap();
            services += 1;
        }
        let [(used, refused), (operational_used, operational_refused)] = rules.patterns.counts();
        assert_eq!((refused, operational_refused), (0, 0));
        let slos = crate::render::slo::slos(&compiled.platform).len();
        assert!(
            used > 2 && used * 10 < slos,
            "{used} patterns for {slos} SLOs"
        );
        assert!(
            operational_used > 2 && operational_used * 3 < services,
            "{operational_used} operational patterns for {services} services"
        );
    }
}
