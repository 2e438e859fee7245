//! Prints a synthetic platform: `cargo run --release --example generate-platform -- <services> [seed]`.

#[path = "support/synthetic.rs"]
mod synthetic;

fn main() {
    let mut args = std::env::args().skip(1);
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    print!("{}", synthetic::platform(n, seed));
}
