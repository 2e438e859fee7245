//! The string syntaxes the Kubernetes API server validates, re-implemented from
//! `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go` (kubernetes/kubernetes)
//! unless a function says otherwise: written by hand, character by character, so this test
//! shares no code and no regular expression with berrys's schema.

use std::net::IpAddr;

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `IsDNS1123Label`: at most 63 of `[a-z0-9-]`, alphanumeric at both ends.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum)
}

/// `IsDNS1123Subdomain`: at most 253 characters, dot-separated DNS-1123 labels (whose
/// length the regular expression there does not bound).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| is_lower_alnum(c) || c == '-')
                && part.starts_with(is_lower_alnum)
                && part.ends_with(is_lower_alnum)
        })
}

/// `IsDNS1035Label`: a DNS-1123 label that starts with a letter (Service names).
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// `IsWildcardDNS1123Subdomain`: `*.` and a subdomain, at most 253 characters in all.
pub fn is_wildcard_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.strip_prefix("*.").is_some_and(is_dns1123_subdomain)
}

/// The name part of a qualified name: at most 63 of `[-A-Za-z0-9_.]`, alphanumeric at
/// both ends.
fn is_qualified_name_part(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || "-_.".contains(c))
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS-1123 subdomain (label and
/// annotation keys, toleration keys).
pub fn is_qualified_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && is_dns1123_subdomain(prefix)
                && !name.contains('/')
                && is_qualified_name_part(name)
        }
        None => is_qualified_name_part(s),
    }
}

/// `IsValidLabelValue`: empty, or a qualified name's name part.
pub fn is_valid_label_value(s: &str) -> bool {
    s.is_empty() || is_qualified_name_part(s)
}

/// `IsEnvVarName`: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub fn is_env_var_name(s: &str) -> bool {
    let first = |c: char| c.is_ascii_alphabetic() || "-._".contains(c);
    s.starts_with(first) && s.chars().all(|c| first(c) || c.is_ascii_digit())
}

/// `IsConfigMapKey`: at most 253 of `[-._a-zA-Z0-9]`, and neither `.` nor `..`
/// (also the rule for Secret keys and `secretKeyRef.key`).
pub fn is_config_map_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        && s != "."
        && s != ".."
}

/// `IsValidPortName` (IANA_SVC_NAME): at most 15 of `[-a-z0-9]`, a letter among them,
/// no `-` at either end and no `--`.
pub fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// `IsValidPortNum`: 1 to 65535.
pub fn is_port_num(n: i64) -> bool {
    (1..=65535).contains(&n)
}

/// `IsValidIP` (`netutils.ParseIPSloppy`, which also takes IPv4 with leading zeros).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 3 || !p.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(IpAddr::from(octets))
}

/// A CIDR as `netutils.ParseCIDRSloppy` reads it (`IsValidCIDR`): the network address
/// (host bits cleared) and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub network: u128,
    pub prefix: u32,
    pub v4: bool,
}

pub fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, prefix) = s.split_once('/')?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let prefix: u32 = prefix.parse().ok()?;
    let (bits, v4, value) = match parse_ip(addr)? {
        IpAddr::V4(a) => (32, true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (128, false, u128::from(a)),
    };
    if prefix > bits {
        return None;
    }
    let host_bits = bits - prefix;
    let mask = if host_bits == 128 {
        0
    } else {
        !((1u128 << host_bits) - 1)
    };
    Some(Cidr {
        network: value & mask,
        prefix,
        v4,
    })
}

impl Cidr {
    /// Go's `IPNet.Contains(other.IP)`: same family and the other network's address
    /// inside this one.
    pub fn contains_address_of(&self, other: &Cidr) -> bool {
        let bits = if self.v4 { 32 } else { 128 };
        let host_bits = bits - self.prefix;
        let mask = if host_bits == 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        self.v4 == other.v4 && other.network & mask == self.network
    }
}

/// A resource quantity as `resource.ParseQuantity` reads it
/// (`staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go`), in billionths,
/// rounded up as the API server rounds precision beyond nano; `None` when it does not
/// parse. Values beyond `u128` saturate: only their order matters here.
pub fn parse_quantity(s: &str) -> Option<(bool, u128)> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let (base2, base10): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        e if e.starts_with(['e', 'E']) => {
            let exp = &e[1..];
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (0, exp.parse().ok()?)
        }
        _ => return None,
    };
    // value = digits × 10^(base10 − fraction length) × 2^base2, in units of 10^-9.
    let digits: String = format!("{whole}{fraction}");
    let mut mantissa: u128 = 0;
    for d in digits.bytes() {
        mantissa = mantissa
            .saturating_mul(10)
            .saturating_add(u128::from(d - b'0'));
    }
    mantissa = mantissa.saturating_mul(1u128.checked_shl(base2).unwrap_or(u128::MAX));
    let exp = base10 - fraction.len() as i32 + 9;
    let nanos = if exp >= 0 {
        let scale = 10u128.checked_pow(exp as u32).unwrap_or(u128::MAX);
        mantissa.saturating_mul(scale)
    } else {
        let scale = 10u128.checked_pow((-exp) as u32).unwrap_or(u128::MAX);
        mantissa.div_ceil(scale)
    };
    Some((negative && nanos > 0, nanos))
}
