//! The multi-window burn-rate conditions (the Google SRE Workbook's page and ticket pairs).
//! They are policy, not rendering: the alert rules, the release gate's default threshold and
//! the lint that checks every threshold can be reached all read them from here.

use crate::units::Duration;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// One burn-rate condition: the error ratio over both windows exceeds `factor × budget`,
/// where the factor spends `budget_percent` of the SLO period's budget within `long`.
#[derive(Debug, Clone, Copy)]
pub struct BurnCondition {
    pub long: Duration,
    pub short: Duration,
    /// Share of the period's error budget, in percent.
    pub budget_percent: i128,
}

impl BurnCondition {
    /// factor = budget share × SLO period / long window, as an exact numerator and
    /// denominator (30d: 14.4, 6, 3, 1; 28d: 13.44, 5.6, 2.8, 0.9333…).
    pub fn factor_fraction(&self, period: Duration) -> (i128, i128) {
        (
            self.budget_percent * i128::from(period.millis),
            100 * i128::from(self.long.millis),
        )
    }

    /// The factor as a float, for checks that compare it (the rendered rules use the exact
    /// fraction).
    pub fn factor(&self, period: Duration) -> f64 {
        let (num, den) = self.factor_fraction(period);
        num as f64 / den as f64
    }
}

/// The page pair: 2 % of the budget in an hour, 5 % in six hours.
pub const PAGE: [BurnCondition; 2] = [
    BurnCondition {
        long: Duration { millis: HOUR },
        short: Duration { millis: 5 * MINUTE },
        budget_percent: 2,
    },
    BurnCondition {
        long: Duration { millis: 6 * HOUR },
        short: Duration {
            millis: 30 * MINUTE,
        },
        budget_percent: 5,
    },
];

/// The ticket pair: 10 % of the budget in a day, 10 % in three days.
pub const TICKET: [BurnCondition; 2] = [
    BurnCondition {
        long: Duration { millis: DAY },
        short: Duration { millis: 2 * HOUR },
        budget_percent: 10,
    },
    BurnCondition {
        long: Duration { millis: 3 * DAY },
        short: Duration { millis: 6 * HOUR },
        budget_percent: 10,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_of_the_30_and_28_day_windows() {
        let days = |d: u64| Duration { millis: d * DAY };
        let factors = |period| [PAGE[0], PAGE[1], TICKET[0], TICKET[1]].map(|c| c.factor(period));
        assert_eq!(factors(days(30)), [14.4, 6.0, 3.0, 1.0]);
        let f28 = factors(days(28));
        assert!((f28[0] - 13.44).abs() < 1e-12 && (f28[3] - 28.0 / 30.0).abs() < 1e-12);
    }
}
