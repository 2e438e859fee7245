//! Durations and Kubernetes quantities as written in platform.toml.

use std::fmt;

/// A duration with millisecond resolution (`"500ms"`, `"30s"`, `"2.5s"`, `"30d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    pub millis: u64,
}

const UNITS: [(&str, u64); 6] = [
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    /// The longest duration Prometheus and Alertmanager read: Go's `time.Duration`, 2^63 - 1
    /// nanoseconds, in whole milliseconds.
    pub const MAX_MILLIS: u64 = (i64::MAX / 1_000_000) as u64;

    pub fn from_secs(secs: u64) -> Self {
        Duration {
            millis: secs * 1000,
        }
    }

    /// Parses a duration. The schema has checked the shape; this also rejects values that
    /// are not a whole number of milliseconds or do not fit in 64 bits.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` has no unit (ms, s, m, h, d or w)"))?;
        let (number, unit) = text.split_at(split);
        let factor = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, f)| *f)
            .ok_or_else(|| format!("`{unit}` is not a duration unit (ms, s, m, h, d or w)"))?;
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || whole.len() > 15 || frac.len() > 9 {
            return Err(format!(
                "`{text}` is not a duration this tool can represent"
            ));
        }
        let whole: u64 = whole
            .parse()
            .map_err(|_| format!("`{text}` is not a number"))?;
        let mut millis = whole
            .checked_mul(factor)
            .ok_or_else(|| format!("`{text}` is too long"))?;
        if !frac.is_empty() {
            let digits: u64 = frac
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            let scale = 10u64.pow(frac.len() as u32);
            let scaled = u128::from(digits) * u128::from(factor);
            if scaled % u128::from(scale) != 0 {
                return Err(format!("`{text}` is not a whole number of milliseconds"));
            }
            millis = millis
                .checked_add((scaled / u128::from(scale)) as u64)
                .ok_or_else(|| format!("`{text}` is too long"))?;
        }
        if millis > Duration::MAX_MILLIS {
            return Err(format!(
                "`{text}` is longer than Prometheus and Alertmanager can represent (about 292 years)"
            ));
        }
        Ok(Duration { millis })
    }

    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// The spelling of Go's `time.ParseDuration` in its largest whole unit (`5m`, `1h`,
    /// `90s`; Go has no days), for fields that Kubernetes controllers parse. Sub-second
    /// parts are rounded up to a second.
    pub fn go_string(self) -> String {
        let secs = self.ceil_secs();
        match secs {
            0 => "0s".to_string(),
            s if s.is_multiple_of(3600) => format!("{}h", s / 3600),
            s if s.is_multiple_of(60) => format!("{}m", s / 60),
            s => format!("{s}s"),
        }
    }

    /// Whole seconds, rounded up (Kubernetes fields take seconds).
    pub fn ceil_secs(self) -> u64 {
        self.millis.div_ceil(1000)
    }

    /// Seconds as the shortest exact decimal (`0.5`, `60`, `2.5`).
    pub fn seconds_string(self) -> String {
        let whole = self.millis / 1000;
        let frac = self.millis % 1000;
        if frac == 0 {
            whole.to_string()
        } else {
            let s = format!("{whole}.{frac:03}");
            s.trim_end_matches('0').to_string()
        }
    }
}

/// The largest unit that divides the value exactly: the Prometheus spelling (`30d`, `90s`).
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let (unit, factor) = UNITS
            .iter()
            .find(|(_, factor)| self.millis.is_multiple_of(*factor))
            .copied()
            .unwrap_or(("ms", 1));
        write!(f, "{}{unit}", self.millis / factor)
    }
}

/// A Kubernetes quantity (`"500m"`, `"2"`, `"512Mi"`) with its value in base units (cores or
/// bytes), for arithmetic in lint rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub text: String,
    pub value: f64,
}

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a Kubernetes quantity"))?;
        let factor = match suffix {
            "" => 1.0,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            _ => return Err(format!("`{suffix}` is not a quantity suffix")),
        };
        Ok(Quantity {
            text: text.to_string(),
            value: number * factor,
        })
    }
}

/// A plain number as a Kubernetes quantity: integers as written, fractions in milli-units.
pub fn number_quantity(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{}m", (value * 1000.0).round() as i64)
    }
}

/// Bytes in the largest binary unit that keeps a readable number (`1.5Gi`).
pub fn binary_bytes(v: f64) -> String {
    let units = [
        ("Ti", 1024f64.powi(4)),
        ("Gi", 1024f64.powi(3)),
        ("Mi", 1024f64.powi(2)),
        ("Ki", 1024.0),
    ];
    for (suffix, size) in units {
        if v >= size {
            let text = format!("{:.2}", v / size);
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return format!("{text}{suffix}");
        }
    }
    format!("{v}")
}

/// An IP range, `address/prefix`, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address as a 128-bit number (IPv4 in its low 32 bits).
    bits: u128,
    prefix: u8,
    v6: bool,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` has no prefix length (`/24`)"))?;
        let addr: std::net::IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IP address"))?;
        let (bits, width, v6) = match addr {
            std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), 32, false),
            std::net::IpAddr::V6(a) => (u128::from(a), 128, true),
        };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= width)
            .ok_or_else(|| format!("`/{prefix}` is not a prefix length of 0 to {width}"))?;
        Ok(Cidr { bits, prefix, v6 })
    }

    pub fn is_v6(self) -> bool {
        self.v6
    }

    fn width(self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    /// The network part of an address under this prefix.
    fn network(self, bits: u128) -> u128 {
        let host = u32::from(self.width() - self.prefix);
        if host >= 128 { 0 } else { bits >> host }
    }

    /// Whether `other` is a part of this range and smaller than it: what an `except` of
    /// this `cidr` must be (`ValidateIPBlock`: "must be a strict subset of `cidr`").
    pub fn strictly_contains(self, other: Cidr) -> bool {
        self.contains(other) && other.prefix > self.prefix
    }

    /// Whether every address of `other` is in this range.
    pub fn contains(self, other: Cidr) -> bool {
        self.v6 == other.v6
            && other.prefix >= self.prefix
            && self.network(self.bits) == self.network(other.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_contain_their_subranges_only() {
        let c = |t: &str| Cidr::parse(t).unwrap();
        assert!(c("0.0.0.0/0").contains(c("169.254.169.254/32")));
        assert!(c("10.0.0.0/8").contains(c("10.1.0.0/16")));
        assert!(c("10.0.0.0/8").contains(c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/16").contains(c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/8").contains(c("11.0.0.0/16")));
        assert!(!c("0.0.0.0/0").contains(c("::1/128")));
        assert!(c("::/0").contains(c("fd00::/8")));
        assert!(c("fd00::/8").contains(c("fd12:3456::/32")));
        assert!(!c("fd00::/8").contains(c("fe80::/10")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
        assert!(Cidr::parse("10.0.0/8").is_err());
    }

    #[test]
    fn durations_parse_and_print_canonically() {
        let cases = [
            ("500ms", 500, "500ms"),
            ("30s", 30_000, "30s"),
            ("2.5s", 2_500, "2500ms"),
            ("60s", 60_000, "1m"),
            ("300s", 300_000, "5m"),
            ("30d", 2_592_000_000, "30d"),
            ("14d", 1_209_600_000, "2w"),
            ("0s", 0, "0s"),
        ];
        for (text, millis, shown) in cases {
            let d = Duration::parse(text).unwrap();
            assert_eq!(d.millis, millis, "{text}");
            assert_eq!(d.to_string(), shown, "{text}");
        }
        assert_eq!(Duration::parse("2.5s").unwrap().seconds_string(), "2.5");
        assert_eq!(Duration::parse("60s").unwrap().seconds_string(), "60");
        assert!(Duration::parse("0.5ms").is_err());
        assert!(Duration::parse("99999999999999999d").is_err());
        assert!(Duration::parse("5").is_err());
    }

    #[test]
    fn quantities_have_base_unit_values() {
        assert_eq!(Quantity::parse("500m").unwrap().value, 0.5);
        assert_eq!(Quantity::parse("2").unwrap().value, 2.0);
        assert_eq!(Quantity::parse("1Gi").unwrap().value, 1024f64.powi(3));
        assert_eq!(number_quantity(30.0), "30");
        assert_eq!(number_quantity(0.5), "500m");
    }
}
