//! What a service's pods need of a real cluster: pull secrets and policy, numeric user and
//! groups, scheduling (node selector, tolerations, priority class), pod annotations and
//! probe timings. The platform sets defaults, an environment may set some of them for all
//! its services, and a service's own value wins over both.

use std::ops::Range;

use super::service::ServiceScope;
use super::{Resolver, base_service_span, duration, span_within};
use crate::model::raw::{RawSecurity, RawService, RawToleration};
use crate::model::{PodSettings, Probes, Security, Sp, Toleration};

impl Resolver<'_> {
    /// The pod settings of service `name`.
    pub(super) fn pod_settings(
        &mut self,
        scope: &ServiceScope<'_>,
        name: &Sp<String>,
        svc: &RawService,
    ) -> PodSettings {
        let platform = &self.raw.platform;
        let mut image_pull_secrets: Vec<String> = Vec::new();
        for secret in platform
            .image_pull_secrets
            .iter()
            .chain(&svc.image_pull_secrets)
        {
            if !image_pull_secrets.contains(secret.get_ref()) {
                image_pull_secrets.push(secret.get_ref().clone());
            }
        }
        let image_pull_policy = scope
            .most_specific(name, svc.image_pull_policy.as_ref(), |e| {
                e.image_pull_policy.as_ref()
            })
            .or(platform.image_pull_policy.as_ref())
            .map(|p| p.get_ref().clone());
        let tolerations = svc.tolerations.iter().map(|t| self.toleration(t)).collect();
        PodSettings {
            image_pull_secrets,
            image_pull_policy,
            security: security(
                platform.security.as_ref().map(Sp::get_ref),
                svc.security.as_ref().map(Sp::get_ref),
            ),
            annotations: svc.pod_annotations.clone(),
            node_selector: svc.node_selector.clone(),
            tolerations,
            priority_class: svc.priority_class.as_ref().map(|p| p.get_ref().clone()),
        }
    }

    /// A toleration; the combinations Kubernetes refuses are reported at their place.
    fn toleration(&mut self, t: &Sp<RawToleration>) -> Toleration {
        let raw = t.get_ref();
        let operator = raw
            .operator
            .as_ref()
            .map_or("Equal".to_string(), |o| o.get_ref().clone());
        let exists = operator == "Exists";
        if raw.key.is_none() && !exists {
            self.invalid(
                "a toleration without `key` must have `operator = \"Exists\"`".to_string(),
                raw.operator.as_ref().map_or(t.span(), Sp::span),
                "no key to compare",
                "name the taint's `key`, or write `operator = \"Exists\"` to tolerate every taint",
            );
        }
        if exists && let Some(value) = &raw.value {
            self.invalid(
                "a toleration with `operator = \"Exists\"` takes no `value`".to_string(),
                value.span(),
                "ignored by Exists",
                "remove `value`, or use `operator = \"Equal\"` to match it",
            );
        }
        if let Some(seconds) = &raw.seconds
            && raw.effect.as_ref().map(|e| e.get_ref().as_str()) != Some("NoExecute")
        {
            self.invalid(
                "`seconds` applies only to `effect = \"NoExecute\"`".to_string(),
                seconds.span(),
                "tolerationSeconds",
                "add `effect = \"NoExecute\"`, or remove `seconds`",
            );
        }
        Toleration {
            key: raw.key.as_ref().map(|k| k.get_ref().clone()),
            operator,
            value: raw.value.as_ref().map(|v| v.get_ref().clone()),
            effect: raw.effect.as_ref().map(|e| e.get_ref().clone()),
            seconds: raw.seconds.as_ref().map(|s| *s.get_ref()),
        }
    }

    /// Probe paths, and the liveness and readiness timings in whole seconds.
    pub(super) fn probes(&mut self, svc: &RawService) -> Probes {
        let p = &svc.probes;
        let path = |v: &Option<Sp<String>>, default: &str| {
            v.as_ref()
                .map_or(default.to_string(), |p| p.get_ref().clone())
        };
        Probes {
            liveness: path(&p.liveness, "/healthz"),
            readiness: path(&p.readiness, "/ready"),
            startup: p.startup.as_ref().map(|s| s.get_ref().clone()),
            period_seconds: self.probe_seconds(p.period.as_ref(), "period", 10, 1),
            timeout_seconds: self.probe_seconds(p.timeout.as_ref(), "timeout", 1, 1),
            failure_threshold: p.failure_threshold.as_ref().map_or(3, |f| *f.get_ref()),
            initial_delay_seconds: self.probe_seconds(
                p.initial_delay.as_ref(),
                "initial_delay",
                0,
                0,
            ),
        }
    }

    /// A probe timing: Kubernetes takes whole seconds, at least `min`.
    fn probe_seconds(
        &mut self,
        value: Option<&Sp<String>>,
        what: &str,
        default: u32,
        min: u32,
    ) -> u32 {
        let Some(value) = value else {
            return default;
        };
        let d = *duration(&mut self.diags, value, &format!("probe {what}")).get_ref();
        let seconds = d.millis / 1000;
        if !d.millis.is_multiple_of(1000)
            || seconds < u64::from(min)
            || seconds > u64::from(u32::MAX)
        {
            self.invalid(
                format!(
                    "probe `{what}` of {d} is not a whole number of seconds of at least {min}s"
                ),
                value.span(),
                "whole seconds",
                "Kubernetes counts probe timings in seconds: write \"1s\", \"10s\", \"2m\"",
            );
            return default;
        }
        seconds as u32
    }
}

impl ServiceScope<'_> {
    /// The service's own value when its environment's override sets it, else the
    /// environment's, else the service's own from the file as written: as with `replicas`,
    /// an environment-wide setting beats the base file but not the environment's own word
    /// for one service.
    pub(super) fn most_specific<'v, T>(
        &'v self,
        name: &Sp<String>,
        own: Option<&'v Sp<T>>,
        environment_wide: impl Fn(&'v crate::model::raw::RawEnvironment) -> Option<&'v Sp<T>>,
    ) -> Option<&'v Sp<T>> {
        let in_override = |span: Range<usize>| {
            self.env_overrides.contains(name.get_ref().as_str())
                && !span_within(&span, &base_service_span(self.base_raw, name))
        };
        match own {
            Some(v) if in_override(v.span()) => Some(v),
            _ => self.environment.and_then(environment_wide).or(own),
        }
    }
}

/// Each of user, group and filesystem group: the service's, else the platform's, else
/// [`crate::model::DEFAULT_ID`].
fn security(platform: Option<&RawSecurity>, service: Option<&RawSecurity>) -> Security {
    let pick = |get: fn(&RawSecurity) -> Option<&Sp<i64>>, default: i64| {
        service
            .and_then(get)
            .or_else(|| platform.and_then(get))
            .map_or(default, |v| *v.get_ref())
    };
    let d = Security::default();
    Security {
        run_as_user: pick(|s| s.run_as_user.as_ref(), d.run_as_user),
        run_as_group: pick(|s| s.run_as_group.as_ref(), d.run_as_group),
        fs_group: pick(|s| s.fs_group.as_ref(), d.fs_group),
    }
}
