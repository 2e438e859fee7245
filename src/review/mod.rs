//! What a platform means for the people who review it: `berrys capacity` (what it asks of the
//! cluster and its datastores) and `berrys diff` (what a change to it brings).
//!
//! Each report is a value with stable keys (its `json` form, documented in docs/review.md);
//! the `human` and `markdown` forms are tables drawn from that same value, so the three never
//! disagree. Every figure comes from the phases below: capacity from
//! [`crate::model::capacity`] (the arithmetic of BR003 and BR011), flows from the rendered
//! NetworkPolicies, alerts from the rendered rule groups, findings from lint.

pub mod capacity;
pub mod diff;
mod diff_text;
mod flows;
mod table;

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables for a terminal.
    Human,
    /// GitHub-flavoured Markdown, ready to post as a pull-request comment.
    Markdown,
    /// The report's value, with the keys docs/review.md lists.
    Json,
}

/// A figure as a person reads it: whole numbers without a fraction, others to two decimals
/// (trailing zeros dropped).
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A value rounded for the JSON form, so that binary fractions (`0.30000000000000004`) do
/// not reach it: to a millionth.
fn rounded(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}
