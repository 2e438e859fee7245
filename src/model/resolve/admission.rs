//! What the API server, Prometheus and Alertmanager accept beyond the schema's shapes.
//!
//! The schema checks the form of a value; the systems berrys writes for check more (the API
//! server's `pkg/apis/*/validation` in Kubernetes, Prometheus' template parser, Alertmanager's
//! URL parsing). Each check here mirrors one of those rules, says where it is stated, and
//! reports at the value's line, so that a platform that lints clean is one they accept.

use std::ops::Range;

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::model::raw::RawObservability;
use crate::model::{Resources, Sp};
use crate::units::{Cidr, Quantity};

/// Sequences an Ingress path of type Prefix or Exact must not contain, and endings it must
/// not have (`pkg/apis/networking/validation/validation.go`, `invalidPathSequences` and
/// `invalidPathSuffixes`).
const INVALID_PATH_SEQUENCES: [&str; 5] = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES: [&str; 2] = ["/..", "/."];

/// Label names berrys' own queries and tests set, which `[observability]`'s label names
/// must not be: `le` (histogram buckets), `namespace` (every selector), the Argo Rollouts
/// version label of the release analysis.
const RESERVED_LABELS: [&str; 3] = ["le", "namespace", "rollouts_pod_template_hash"];

/// The smallest and largest custom-metric target: a Kubernetes quantity in milli-units is
/// at least `1m`, and `averageValue` must be positive (`pkg/apis/autoscaling/validation`,
/// `validateMetricTarget`); no metric is compared with a target of a thousand trillion.
const MIN_METRIC_TARGET: f64 = 0.001;
const MAX_METRIC_TARGET: f64 = 1e15;

fn invalid(message: String, span: Range<usize>, label: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        crate::diagnostic::codes::INVALID_VALUE,
        message,
        span,
        label,
    )
    .with_help(help)
}

/// A parsed quantity's value and the text and span it was written with.
fn value_of(q: &Option<Sp<Quantity>>) -> Option<(f64, Sp<&str>)> {
    q.as_ref().map(|q| {
        (
            q.get_ref().value,
            Sp::new(q.span(), q.get_ref().text.as_str()),
        )
    })
}

impl Resolver<'_> {
    /// A container's requests and limits: no limit of zero, no request above its limit
    /// (`pkg/apis/core/validation/validation.go`, `ValidateResourceRequirements`: "must be
    /// less than or equal to … limit").
    pub(super) fn check_requests_within_limits(&mut self, res: &Resources) {
        for (what, request, limit) in [
            ("cpu", &res.cpu, &res.cpu_limit),
            ("memory", &res.memory, &res.memory_limit),
        ] {
            let Some((limit_value, limit)) = value_of(limit) else {
                continue;
            };
            if limit_value == 0.0 {
                self.diags.push(invalid(
                    format!(
                        "a {what} limit of `{}` lets no container run",
                        limit.get_ref()
                    ),
                    limit.span(),
                    "zero limit",
                    "give the limit a value above the request, or leave it out for no limit",
                ));
                continue;
            }
            if let Some((request_value, request)) = value_of(request)
                && request_value > limit_value
            {
                self.diags.push(
                    invalid(
                        format!(
                            "the {what} request `{}` is above its limit `{}`; Kubernetes refuses the pod",
                            request.get_ref(),
                            limit.get_ref()
                        ),
                        request.span(),
                        "request above limit",
                        "a request must be at most its limit: raise the limit or lower the request",
                    )
                    .with_secondary(limit.span(), "the limit"),
                );
            }
        }
    }

    /// A quota of zero admits no pod, and its usage alerts divide by zero.
    pub(super) fn check_quota(&mut self, quota: &Resources) {
        for value in [
            &quota.cpu,
            &quota.memory,
            &quota.cpu_limit,
            &quota.memory_limit,
        ] {
            if let Some((0.0, value)) = value_of(value) {
                self.diags.push(invalid(
                    format!("a quota of `{}` admits no pod", value.get_ref()),
                    value.span(),
                    "zero quota",
                    "set the namespace's real allowance, or leave the key out for none",
                ));
            }
        }
    }

    /// An Ingress path of type Prefix (`validateHTTPIngressPath`).
    pub(super) fn check_ingress_path(&mut self, path: &Sp<String>) {
        let text = path.get_ref();
        let bad = INVALID_PATH_SEQUENCES
            .iter()
            .find(|s| text.contains(*s))
            .map(|s| format!("contains `{s}`"))
            .or_else(|| {
                INVALID_PATH_SUFFIXES
                    .iter()
                    .find(|s| text.ends_with(*s))
                    .map(|s| format!("ends with `{s}`"))
            });
        if let Some(why) = bad {
            self.diags.push(invalid(
                format!("the ingress path `{text}` {why}; Kubernetes refuses it"),
                path.span(),
                "invalid path",
                "write the path as clients send it after normalisation: no empty, `.` or `..` \
                 segments and no encoded `/`",
            ));
        }
    }

    /// An Ingress host is a DNS name, not an IP address (`validateIngressRules`: "must be a
    /// DNS name, not an IP address"; the API server parses it leniently, leading zeros too).
    pub(super) fn check_ingress_host(&mut self, host: &Sp<String>) {
        let parts: Vec<&str> = host.get_ref().split('.').collect();
        let ip = parts.len() == 4
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && p.parse::<u32>().is_ok_and(|n| n <= 255)
            });
        if ip {
            self.diags.push(invalid(
                format!("the ingress host `{}` is an IP address", host.get_ref()),
                host.span(),
                "not a DNS name",
                "an Ingress matches hosts by DNS name: name the host, or leave `ingress` out and \
                 expose the Service another way",
            ));
        }
    }

    /// A CIDR whose address parses (`ValidateIPBlock` and `ValidateCIDR`); the schema's
    /// pattern admits shapes such as `:::/0`.
    pub(super) fn check_cidr(&mut self, cidr: &Sp<String>) -> Option<Cidr> {
        match Cidr::parse(cidr.get_ref()) {
            Ok(c) => Some(c),
            Err(why) => {
                self.diags.push(invalid(
                    format!("`{}` is not a CIDR: {why}", cidr.get_ref()),
                    cidr.span(),
                    "invalid CIDR",
                    "write an IPv4 or IPv6 address and a prefix length: \"10.0.0.0/16\", \
                     \"2001:db8::/32\"",
                ));
                None
            }
        }
    }

    /// A custom metric's target, written as an `averageValue` quantity in milli-units.
    pub(super) fn check_metric_target(&mut self, target: &Sp<f64>) {
        let value = *target.get_ref();
        let why = if value < MIN_METRIC_TARGET {
            Some(
                "below 0.001, it would be written as an average value of 0, which Kubernetes refuses",
            )
        } else if value >= MAX_METRIC_TARGET {
            Some("it is beyond what an HPA target holds (1e15)")
        } else {
            None
        };
        if let Some(why) = why {
            self.diags.push(invalid(
                format!("the metric target {value} is out of range: {why}"),
                target.span(),
                "out of range",
                "give the per-pod value at which to scale out, in the metric's own unit",
            ));
        }
    }

    /// Text that goes into an alert's annotations or a notification, where Prometheus and
    /// Alertmanager read `{{` as the start of a Go template action: one unclosed action
    /// makes the whole rule file fail to load.
    pub(super) fn check_template_text(&mut self, value: &Sp<String>, what: &str) {
        if value.get_ref().contains("{{") {
            self.diags.push(invalid(
                format!("{what} contains `{{{{`, which Prometheus and Alertmanager read as a template action"),
                value.span(),
                "template action",
                "berrys fills in `{service}` and `{alert}` itself; remove the `{{`",
            ));
        }
    }

    /// `[observability]`'s label names: distinct, and none that berrys' queries set
    /// themselves or that Prometheus reserves (`__` names).
    pub(super) fn check_observability_labels(&mut self, o: &RawObservability) {
        let labels = [
            ("service_label", &o.service_label, "service"),
            ("code_label", &o.code_label, "code"),
            ("datastore_label", &o.datastore_label, "datastore"),
        ];
        for (i, (key, value, default)) in labels.iter().enumerate() {
            let Some(value) = value else { continue };
            let name = value.get_ref().as_str();
            let why = if name.starts_with("__") {
                Some("names starting with `__` are Prometheus' own".to_string())
            } else if RESERVED_LABELS.contains(&name) {
                Some(format!("berrys' queries set `{name}` themselves"))
            } else {
                labels[..i]
                    .iter()
                    .find(|(_, other, other_default)| {
                        other
                            .as_ref()
                            .map_or(*other_default, |o| o.get_ref().as_str())
                            == name
                    })
                    .map(|(other_key, ..)| format!("`{other_key}` is `{name}` too"))
            };
            if let Some(why) = why {
                self.diags.push(invalid(
                    format!("`{key}` cannot be `{name}`: {why}"),
                    value.span(),
                    "label name",
                    &format!("name the label your metrics carry for this (default `{default}`)"),
                ));
            }
        }
    }

    /// A webhook URL Alertmanager can parse (Go's `net/url`, then an absolute http(s) URL
    /// with a host).
    pub(super) fn check_webhook_url(&mut self, url: &Sp<String>) {
        if let Err(why) = check_url(url.get_ref()) {
            self.diags.push(invalid(
                format!(
                    "Alertmanager cannot read the webhook URL `{}`: {why}",
                    url.get_ref()
                ),
                url.span(),
                "invalid URL",
                "write an absolute http or https URL; escape other characters as `%` and two \
                 hex digits",
            ));
        }
    }
}

/// Whether `url` is an absolute http(s) URL with a host that Go's URL parser accepts.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it is not an http or https URL")?;
    let bytes = url.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(format!(
                "`{}` is not a percent escape",
                &url[i..(i + 3).min(url.len())]
            ));
        }
        if b.is_ascii_control() || *b == b' ' {
            return Err("it contains a space or a control character".to_string());
        }
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (address, after) = inner
            .split_once(']')
            .ok_or("its IPv6 address has no closing `]`")?;
        address
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("`{address}` is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("text follows the IPv6 address")?),
        };
        (address, port)
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("it has no host".to_string());
    }
    if !host_port.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b))
    {
        return Err(format!("`{host}` is not a host name"));
    }
    if let Some(port) = port
        && !port.is_empty()
        && !(port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok())
    {
        return Err(format!("`{port}` is not a port"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls_alertmanager_reads_and_refuses() {
        for ok in [
            "https://hooks.example.com/alerts",
            "http://[::1]:9093/x",
            "http://user@host:80/a%20b?q=1#f",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://[::1",
            "http://host/%zz",
            "http://host/%2",
            "http:///path",
            "http://host:99999/",
            "http://ho st/",
            "ftp://host/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
