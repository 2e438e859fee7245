//! The rule registry: one file per rule, each with its documentation next to its code.

pub mod analysis_interval_too_short;
pub mod burn_rate_unreachable;
pub mod canary_step_unreachable;
pub mod critical_single_replica;
pub mod critical_without_slo;
pub mod criticality_inversion;
pub mod delivery_without_slo;
pub mod dependency_cycle;
pub mod hpa_metric_is_counter;
pub mod image_not_digest_pinned;
pub mod image_tag_not_pinned;
pub mod ingress_without_tls;
pub mod latency_threshold_not_bucket;
pub mod missing_resources;
pub mod page_without_receiver;
pub mod pdb_blocks_drain;
pub mod percentage_out_of_scale;
pub mod plaintext_secret;
pub mod pool_overcommit;
pub mod preview_exceeds_replicas;
pub mod quota_exceeded;
pub mod scale_down_thrash;
pub mod slo_unachievable;
pub mod slo_window_exceeds_retention;
pub mod unknown_reference;
pub mod unused_definition;
pub mod unused_exemption;
pub mod utilisation_target_range;

use super::Rule;

/// Every rule, by code. Codes are never reused.
pub const RULES: &[Rule] = &[
    dependency_cycle::RULE,
    unknown_reference::RULE,
    pool_overcommit::RULE,
    slo_unachievable::RULE,
    pdb_blocks_drain::RULE,
    critical_single_replica::RULE,
    image_tag_not_pinned::RULE,
    plaintext_secret::RULE,
    latency_threshold_not_bucket::RULE,
    slo_window_exceeds_retention::RULE,
    quota_exceeded::RULE,
    criticality_inversion::RULE,
    scale_down_thrash::RULE,
    utilisation_target_range::RULE,
    missing_resources::RULE,
    critical_without_slo::RULE,
    unused_definition::RULE,
    unused_exemption::RULE,
    delivery_without_slo::RULE,
    canary_step_unreachable::RULE,
    analysis_interval_too_short::RULE,
    page_without_receiver::RULE,
    ingress_without_tls::RULE,
    hpa_metric_is_counter::RULE,
    percentage_out_of_scale::RULE,
    image_not_digest_pinned::RULE,
    burn_rate_unreachable::RULE,
    preview_exceeds_replicas::RULE,
];
