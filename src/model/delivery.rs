//! How a service's new versions reach production: its delivery profile, resolved, and the
//! pods each strategy runs at once (what datastores and the quota must be sized for).

use std::ops::Range;

use super::burn::PAGE;
use super::{Replicas, Sp};
use crate::units::Duration;

/// The rate window of the release analysis: the short window of the page alert's first
/// condition, so the gate and the page judge the same minutes.
pub const ANALYSIS_WINDOW: Duration = PAGE[0].short;

/// A canary or blue-green release (SPEC §6). A rolling update, the default, has none.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The profile's name, where the service refers to it.
    pub profile: Sp<String>,
    pub strategy: Strategy,
    /// How long each step (canary) or the switch (blue-green) is analysed.
    pub pause: Sp<Duration>,
    /// Whether each step is gated on the service's SLOs.
    pub analysis: Sp<bool>,
    /// The burn rate of the new version's pods at which the analysis fails; `None`: the
    /// page alert's short-window factor for the SLO window.
    pub max_burn_rate: Option<Sp<f64>>,
    /// Fewer requests to the new version in one measurement: inconclusive.
    pub min_requests: u64,
    /// The service's `delivery` value.
    pub span: Range<usize>,
}

impl Delivery {
    /// The burn rate at which the analysis of an SLO over `period` fails: the profile's
    /// `max_burn_rate`, or the factor of the page alert's first condition.
    pub fn max_burn_rate_for(&self, period: Duration) -> f64 {
        self.max_burn_rate
            .as_ref()
            .map_or_else(|| PAGE[0].factor(period), |m| *m.get_ref())
    }
}

#[derive(Debug, Clone)]
pub enum Strategy {
    Canary(Canary),
    BlueGreen(BlueGreen),
}

#[derive(Debug, Clone)]
pub struct Canary {
    /// Traffic weights in percent, strictly increasing, each 1..=99; 100 follows the last.
    pub steps: Vec<Sp<u32>>,
    pub traffic: Traffic,
}

/// How a canary's share of the traffic is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// By pod count behind the callers' Service.
    Replicas,
    /// By the ingress-nginx canary Ingress Argo Rollouts writes.
    Nginx,
}

#[derive(Debug, Clone)]
pub struct BlueGreen {
    pub auto_promote: bool,
    /// How long the old version is kept after the switch.
    pub scale_down_delay: Option<Sp<Duration>>,
    /// Replicas of the new version before the switch (default: full size).
    pub preview_replicas: Option<Sp<u32>>,
}

/// Extra pods of a rolling update: `maxSurge: 25%`, rounded up, as the
/// Deployment and the canary Rollout render it.
pub fn rolling_surge(replicas: u32) -> u32 {
    replicas.div_ceil(4)
}

/// `weight` percent of `replicas` pods, rounded up (Argo Rollouts' rounding for the canary
/// of a traffic-routed rollout).
fn pods_at(weight: u32, replicas: u32) -> u32 {
    (u64::from(weight) * u64::from(replicas)).div_ceil(100) as u32
}

/// The most pods of one service running at once during a release at maximum replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeakPods {
    /// Maximum replicas.
    pub max: u32,
    /// Pods beyond `max` during a release.
    pub extra: u32,
    /// What the extra pods are, in words, when not a rolling surge.
    pub cause: Option<&'static str>,
}

impl PeakPods {
    pub fn total(&self) -> u32 {
        self.max + self.extra
    }

    /// `(8 + 2)`, `(8 + 8 blue-green)`: the figure as the findings write it.
    pub fn formula(&self) -> String {
        match self.cause {
            Some(cause) => format!("({} + {} {cause})", self.max, self.extra),
            None => format!("({} + {})", self.max, self.extra),
        }
    }
}

/// The pods a service runs at once at maximum replicas while a new version is released.
///
/// - rolling update, and a canary weighted by replicas: the surge of 25 %;
/// - canary through nginx (stable scaled with the traffic): at a step, the canary at its new
///   weight while the stable version still runs for the previous one; an abort scales the
///   stable version back to full size before the canary goes, the largest of them;
/// - blue-green: both versions at full size during the switch (or the old one beside a
///   preview larger than it).
pub fn peak_pods(replicas: &Replicas, delivery: Option<&Delivery>) -> PeakPods {
    let max = replicas.max();
    let rolling = PeakPods {
        max,
        extra: rolling_surge(max),
        cause: None,
    };
    let Some(delivery) = delivery else {
        return rolling;
    };
    match &delivery.strategy {
        // The preview runs beside the old version before the switch, the new version at
        // full size after it; a preview larger than the service (BR028) is the larger.
        Strategy::BlueGreen(b) => PeakPods {
            max,
            extra: b
                .preview_replicas
                .as_ref()
                .map_or(max, |p| max.max(*p.get_ref())),
            cause: Some("blue-green"),
        },
        Strategy::Canary(c) if c.traffic == Traffic::Replicas => rolling,
        Strategy::Canary(c) => {
            let weights: Vec<u32> = c.steps.iter().map(|s| *s.get_ref()).collect();
            let mut peak = 0;
            let mut previous = 0;
            for &w in weights.iter().chain(std::iter::once(&100)) {
                peak = peak.max(pods_at(w, max) + pods_at(100 - previous, max));
                previous = w;
            }
            let last = weights.last().copied().unwrap_or(0);
            peak = peak.max(max + pods_at(last, max));
            PeakPods {
                max,
                extra: peak.saturating_sub(max),
                cause: Some("canary"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp<T>(value: T) -> Sp<T> {
        toml::Spanned::new(0..0, value)
    }

    fn fixed(count: u32) -> Replicas {
        Replicas::Fixed { count, span: 0..0 }
    }

    fn delivery(strategy: Strategy) -> Delivery {
        Delivery {
            profile: sp("p".to_string()),
            strategy,
            pause: sp(Duration::from_secs(300)),
            analysis: sp(true),
            max_burn_rate: None,
            min_requests: 50,
            span: 0..0,
        }
    }

    proptest::proptest! {
        /// Whatever the steps and replicas, a rolling update or an nginx canary runs more
        /// pods than the maximum during a release and never more than twice it.
        #[test]
        fn peaks_lie_between_the_maximum_and_twice_it(
            max in 1u32..500,
            raw_steps in proptest::collection::btree_set(1u32..100, 1..8),
        ) {
            let steps: Vec<Sp<u32>> = raw_steps.into_iter().map(sp).collect();
            let nginx = delivery(Strategy::Canary(Canary { steps, traffic: Traffic::Nginx }));
            let peak = peak_pods(&fixed(max), Some(&nginx));
            proptest::prop_assert!(peak.total() > max && peak.total() <= 2 * max);
            let rolling = peak_pods(&fixed(max), None);
            proptest::prop_assert!(rolling.total() > max && rolling.total() <= 2 * max);
        }
    }

    #[test]
    fn surge_is_a_quarter_rounded_up() {
        assert_eq!(rolling_surge(1), 1);
        assert_eq!(rolling_surge(4), 1);
        assert_eq!(rolling_surge(8), 2);
        assert_eq!(rolling_surge(10), 3);
        assert_eq!(rolling_surge(0), 0);
    }

    #[test]
    fn each_strategy_counts_its_own_peak() {
        assert_eq!(peak_pods(&fixed(8), None).total(), 10);
        let blue_green = delivery(Strategy::BlueGreen(BlueGreen {
            auto_promote: false,
            scale_down_delay: None,
            preview_replicas: Some(sp(1)),
        }));
        let peak = peak_pods(&fixed(8), Some(&blue_green));
        assert_eq!(
            (peak.total(), peak.formula()),
            (16, "(8 + 8 blue-green)".into())
        );
        let large_preview = delivery(Strategy::BlueGreen(BlueGreen {
            auto_promote: false,
            scale_down_delay: None,
            preview_replicas: Some(sp(12)),
        }));
        assert_eq!(
            peak_pods(&fixed(8), Some(&large_preview)).formula(),
            "(8 + 12 blue-green)"
        );
        let canary = |traffic| {
            delivery(Strategy::Canary(Canary {
                steps: [10, 25, 50, 75].map(sp).to_vec(),
                traffic,
            }))
        };
        assert_eq!(
            peak_pods(&fixed(8), Some(&canary(Traffic::Replicas))).total(),
            10
        );
        // Abort from 75 %: the stable version back at 8 while 6 canary pods still run.
        let nginx = peak_pods(&fixed(8), Some(&canary(Traffic::Nginx)));
        assert_eq!(
            (nginx.total(), nginx.formula()),
            (14, "(8 + 6 canary)".into())
        );
    }
}
