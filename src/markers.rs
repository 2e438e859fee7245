//! The private-use code points berrys writes into text it makes and reads back, allocated
//! here once. No name, template or value of a platform holds them: names are DNS labels,
//! and the writers that place markers fall back to their direct path for any text that
//! already contains one.
//!
//! | code points | used by | stands for |
//! |---|---|---|
//! | U+E000, U+E001 | `yaml::shapes` | around the index of a scalar's hole in a YAML skeleton |
//! | U+E000, U+E001 | `render::grafana::skeleton` | around the index of a value's hole in a dashboard skeleton (JSON text, which never passes through the YAML writer) |
//! | U+E002 – U+E009 | `yaml::Placeholders`, for `render::prometheus::reuse` | the names a rule-group pattern leaves out: a service's, then its datastores' |

/// Opens a hole: the hole's index in decimal follows, then [`HOLE_CLOSE`].
pub const HOLE_OPEN: char = '\u{E000}';
/// Closes a hole.
pub const HOLE_CLOSE: char = '\u{E001}';
/// Stand for names inside the strings of a value serialised once and filled many times.
pub const NAMES: [char; 8] = [
    '\u{E002}', '\u{E003}', '\u{E004}', '\u{E005}', '\u{E006}', '\u{E007}', '\u{E008}', '\u{E009}',
];
