//! PromQL expressions built from typed pieces.
//!
//! Nothing user-written is pasted into query text: metric and label names come from the
//! schema-checked `[observability]` table, label values from validated names, and numbers are
//! printed exactly from rationals (`0.001`, never `0.0009999999999999432`).

use std::fmt;
use std::ops::{Add, Div, Mul, Sub};

use crate::units::Duration;

/// An exact rational number, printed as a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    // Nearly every value (percentages, rates, thresholds) fits 64 bits, where a remainder is
    // one instruction instead of a call into 128-bit division.
    if let (Ok(mut a), Ok(mut b)) = (u64::try_from(a), u64::try_from(b)) {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        return i128::from(a.max(1));
    }
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i128::try_from(a).unwrap_or(1).max(1)
}

impl Ratio {
    pub fn new(num: i128, den: i128) -> Ratio {
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den);
        Ratio {
            num: sign * num / g,
            den: sign * den / g,
        }
    }

    pub fn int(n: i128) -> Ratio {
        Ratio::new(n, 1)
    }

    /// The exact value of a number as TOML wrote it: `99.95` is 9995/100, not the nearest
    /// binary fraction. Rust prints an f64 as the shortest decimal that reads back the same,
    /// which is the decimal the user wrote.
    pub fn from_f64(value: f64) -> Ratio {
        let text = format!("{value}");
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let frac = &frac[..frac.len().min(18)];
        let den = 10i128.pow(frac.len() as u32);
        let digits: i128 = format!("{int}{frac}").parse().unwrap_or(0);
        Ratio::new(digits, den)
    }

    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    fn terminates(self) -> bool {
        let mut d = self.den;
        if d == 0 {
            return false;
        }
        for p in [2, 5] {
            while d % p == 0 {
                d /= p;
            }
        }
        d == 1
    }
}

impl Mul for Ratio {
    type Output = Ratio;

    fn mul(self, other: Ratio) -> Ratio {
        // Cross-cancel first so the products stay small.
        let g1 = gcd(self.num, other.den);
        let g2 = gcd(other.num, self.den);
        Ratio::new(
            (self.num / g1) * (other.num / g2),
            (self.den / g2) * (other.den / g1),
        )
    }
}

impl Div for Ratio {
    type Output = Ratio;

    fn div(self, other: Ratio) -> Ratio {
        let g1 = gcd(self.num, other.num);
        let g2 = gcd(self.den, other.den);
        Ratio::new(
            (self.num / g1) * (other.den / g2),
            (self.den / g2) * (other.num / g1),
        )
    }
}

impl Add for Ratio {
    type Output = Ratio;

    fn add(self, other: Ratio) -> Ratio {
        let den = self.den / gcd(self.den, other.den) * other.den;
        Ratio::new(
            self.num * (den / self.den) + other.num * (den / other.den),
            den,
        )
    }
}

impl Sub for Ratio {
    type Output = Ratio;

    fn sub(self, other: Ratio) -> Ratio {
        self + Ratio::new(-other.num, other.den)
    }
}

impl Ratio {
    fn write_to<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        if !self.terminates() {
            // A repeating decimal has no exact form: 15 significant digits, as many as an
            // f64 holds, with trailing zeros removed.
            let v = self.to_f64();
            let digits = 15 - (v.abs().log10().floor() as i32 + 1);
            let s = format!("{:.*}", digits.max(0) as usize, v);
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                &s
            };
            return out.write_str(s);
        }
        let mut num = self.num.abs();
        if self.num < 0 {
            out.write_char('-')?;
        }
        write!(out, "{}", num / self.den)?;
        num %= self.den;
        if num != 0 {
            out.write_char('.')?;
            while num != 0 {
                num *= 10;
                out.write_char(char::from(b'0' + (num / self.den) as u8))?;
                num %= self.den;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Re,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

impl Matcher {
    pub fn eq(label: &str, value: &str) -> Matcher {
        Matcher {
            label: label.to_string(),
            op: MatchOp::Eq,
            value: value.to_string(),
        }
    }

    pub fn re(label: &str, value: &str) -> Matcher {
        Matcher {
            label: label.to_string(),
            op: MatchOp::Re,
            value: value.to_string(),
        }
    }
}

/// A PromQL string literal: every character that could end or escape it is escaped.
fn write_quoted<W: fmt::Write>(f: &mut W, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    let mut rest = value;
    // Runs without a character to escape are written as they are.
    while let Some(at) = rest.find(['"', '\\', '\n']) {
        f.write_str(&rest[..at])?;
        f.write_str(match rest.as_bytes()[at] {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            _ => "\\n",
        })?;
        rest = &rest[at + 1..];
    }
    f.write_str(rest)?;
    f.write_str("\"")
}

/// The range of a range-vector selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Fixed(Duration),
    /// Grafana's `$__rate_interval`: at least four scrape intervals at any zoom level.
    GrafanaRateInterval,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Fixed(d) => write!(f, "{d}"),
            Window::GrafanaRateInterval => f.write_str("$__rate_interval"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(Ratio),
    Selector {
        metric: String,
        matchers: Vec<Matcher>,
        range: Option<Window>,
    },
    Call(&'static str, Vec<Expr>),
    Aggregate {
        op: &'static str,
        without: bool,
        labels: Vec<String>,
        expr: Box<Expr>,
    },
    Binary {
        lhs: Box<Expr>,
        op: &'static str,
        matching: Option<String>,
        rhs: Box<Expr>,
    },
    Paren(Box<Expr>),
}

pub fn selector(metric: &str, matchers: Vec<Matcher>) -> Expr {
    Expr::Selector {
        metric: metric.to_string(),
        matchers,
        range: None,
    }
}

pub fn range(metric: &str, matchers: Vec<Matcher>, window: Duration) -> Expr {
    Expr::Selector {
        metric: metric.to_string(),
        matchers,
        range: Some(Window::Fixed(window)),
    }
}

/// A range selector over Grafana's `$__rate_interval` (dashboards only).
pub fn range_grafana(metric: &str, matchers: Vec<Matcher>) -> Expr {
    Expr::Selector {
        metric: metric.to_string(),
        matchers,
        range: Some(Window::GrafanaRateInterval),
    }
}

pub fn call(name: &'static str, arg: Expr) -> Expr {
    Expr::Call(name, vec![arg])
}

pub fn call_args(name: &'static str, args: Vec<Expr>) -> Expr {
    Expr::Call(name, args)
}

pub fn sum(expr: Expr) -> Expr {
    Expr::Aggregate {
        op: "sum",
        without: false,
        labels: Vec::new(),
        expr: Box::new(expr),
    }
}

pub fn aggregate(op: &'static str, without: bool, labels: &[&str], expr: Expr) -> Expr {
    Expr::Aggregate {
        op,
        without,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        expr: Box::new(expr),
    }
}

pub fn binary(lhs: Expr, op: &'static str, rhs: Expr) -> Expr {
    Expr::Binary {
        lhs: Box::new(lhs),
        op,
        matching: None,
        rhs: Box::new(rhs),
    }
}

pub fn binary_on(lhs: Expr, op: &'static str, matching: &str, rhs: Expr) -> Expr {
    Expr::Binary {
        lhs: Box::new(lhs),
        op,
        matching: Some(matching.to_string()),
        rhs: Box::new(rhs),
    }
}

pub fn paren(expr: Expr) -> Expr {
    Expr::Paren(Box::new(expr))
}

pub fn number(r: Ratio) -> Expr {
    Expr::Number(r)
}

impl Expr {
    /// The query text, as [`Display`](fmt::Display) writes it, built in one string sized for
    /// a typical query (thousands are made per platform).
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(160);
        // Writing into a String cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// Written piece by piece, not through format strings: queries are nested a few levels
    /// deep and every level would parse its own.
    fn write_to<W: fmt::Write>(&self, f: &mut W) -> fmt::Result {
        match self {
            Expr::Number(r) => r.write_to(f),
            Expr::Selector {
                metric,
                matchers,
                range,
            } => {
                f.write_str(metric)?;
                if !matchers.is_empty() {
                    f.write_str("{")?;
                    for (i, m) in matchers.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        let op = match m.op {
                            MatchOp::Eq => "=",
                            MatchOp::Re => "=~",
                        };
                        f.write_str(&m.label)?;
                        f.write_str(op)?;
                        write_quoted(f, &m.value)?;
                    }
                    f.write_str("}")?;
                }
                if let Some(r) = range {
                    write!(f, "[{r}]")?;
                }
                Ok(())
            }
            Expr::Call(name, args) => {
                f.write_str(name)?;
                f.write_str("(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.write_to(f)?;
                }
                f.write_str(")")
            }
            Expr::Aggregate {
                op,
                without,
                labels,
                expr,
            } => {
                f.write_str(op)?;
                if !labels.is_empty() {
                    f.write_str(if *without { " without (" } else { " by (" })?;
                    for (i, l) in labels.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        f.write_str(l)?;
                    }
                    f.write_str(") ")?;
                }
                f.write_str("(")?;
                expr.write_to(f)?;
                f.write_str(")")
            }
            Expr::Binary {
                lhs,
                op,
                matching,
                rhs,
            } => {
                lhs.write_to(f)?;
                match (matching, *op) {
                    // Set operators join whole conditions: one per line reads like the rule.
                    (None, "and" | "or" | "unless") => {
                        f.write_str("\n")?;
                        f.write_str(op)?;
                        f.write_str("\n")?;
                    }
                    (Some(m), _) => {
                        f.write_str(" ")?;
                        f.write_str(op)?;
                        f.write_str(" ")?;
                        f.write_str(m)?;
                        f.write_str(" ")?;
                    }
                    (None, _) => {
                        f.write_str(" ")?;
                        f.write_str(op)?;
                        f.write_str(" ")?;
                    }
                }
                rhs.write_to(f)
            }
            Expr::Paren(e) => {
                f.write_str("(")?;
                e.write_to(f)?;
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The 64-bit shortcut and the 128-bit loop agree, on both sides of the boundary.
        #[test]
        fn gcd_agrees_with_euclid_in_128_bits(
            a in -(1i128 << 80)..(1i128 << 80),
            b in -(1i128 << 80)..(1i128 << 80),
            small in any::<bool>(),
        ) {
            let (a, b) = if small { (a >> 20, b >> 20) } else { (a, b) };
            let (mut x, mut y) = (a.abs(), b.abs());
            while y != 0 {
                (x, y) = (y, x % y);
            }
            prop_assert_eq!(gcd(a, b), x.max(1));
        }
    }

    #[test]
    fn ratios_print_exactly() {
        let budget = Ratio::int(100)
            .sub(Ratio::from_f64(99.9))
            .div(Ratio::int(100));
        assert_eq!(budget.to_string(), "0.001");
        assert_eq!(Ratio::from_f64(99.95).to_string(), "99.95");
        assert_eq!(
            Ratio::new(144, 10).mul(Ratio::new(5, 1000)).to_string(),
            "0.072"
        );
        assert_eq!(Ratio::new(28, 30).to_string(), "0.933333333333333");
        assert_eq!(Ratio::new(100, 60).to_string(), "1.66666666666667");
        assert_eq!(Ratio::new(-1, 4).to_string(), "-0.25");
        assert_eq!(Ratio::int(3).to_string(), "3");
    }

    #[test]
    fn label_values_are_escaped() {
        let e = selector("m", vec![Matcher::eq("a", "x\"} or vector(1) #\\")]);
        assert_eq!(e.to_string(), r#"m{a="x\"} or vector(1) #\\"}"#);
    }
}
