//! AFL++ target: `cargo afl build --release`, then `cargo afl fuzz` (docs/reliability.md).

#[path = "../exercise.rs"]
mod exercise;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        exercise::exercise(data);
    });
}
