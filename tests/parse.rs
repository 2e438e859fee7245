//! Parsing a large file in two halves (`berrys::parse::parse_in_halves`) must give exactly
//! the tree of parsing it whole, spans included, or decline.

use berrys::parse::{SPLIT_MIN_BYTES, parse_in_halves};
use proptest::prelude::*;
use toml::de::DeTable;

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

/// The tree of `text` parsed whole, with every span, or `None` when it does not parse.
fn whole(text: &str) -> Option<String> {
    DeTable::parse(text).ok().map(|doc| format!("{doc:?}"))
}

/// What the halves give, as [`whole`] prints it; `None` when they decline.
fn halves(text: &str) -> Option<String> {
    let mut scratch = String::new();
    parse_in_halves(text, &mut scratch).map(|doc| format!("{doc:?}"))
}

#[test]
fn generated_platforms_parse_in_halves_to_the_whole_tree() {
    for (n, seed) in [(500, 1), (1_500, 2), (3_000, 5)] {
        let text = synthetic::platform(n, seed);
        assert!(
            text.len() >= SPLIT_MIN_BYTES,
            "{n} services: {} bytes",
            text.len()
        );
        let got = halves(&text);
        if two_cores() {
            assert!(got.is_some(), "{n} services were not parsed in halves");
        }
        if let Some(got) = got {
            assert_eq!(Some(got), whole(&text), "{n} services, seed {seed}");
        }
    }
}

#[test]
fn a_middle_inside_a_character_is_no_cut() {
    // The middle of the file is inside a run of two-byte characters: with and without the
    // extra byte, one of the two files has it inside a character.
    let run = "é".repeat(SPLIT_MIN_BYTES);
    for shift in ["", "x"] {
        let text = format!("#{shift}\n[services.a]\n# {run}\n[services.b]\nport = 2\n");
        if let Some(got) = halves(&text) {
            assert_eq!(Some(got), whole(&text));
        }
    }
}

/// A file of `middle` with enough comment lines around it to be split near its middle.
fn padded(middle: &str) -> String {
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    let half = line.repeat(SPLIT_MIN_BYTES / line.len() / 2 + 1);
    format!("{half}{middle}{half}")
}

#[test]
fn what_the_halves_cannot_see_is_parsed_whole() {
    let services = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| format!("[services.s{i}]\nport = {i}\n"))
            .collect()
    };
    let cases = [
        // A table other than a service's after the cut.
        format!(
            "{}[datastores.d]\nport = 1\n{}",
            services(0, 3),
            services(3, 6)
        ),
        // A service whose tables stand on both sides of the cut.
        format!(
            "{}{}[services.s1.extra]\nk = 1\n",
            services(0, 3),
            services(3, 6)
        ),
        // The same service defined on both sides: an error when parsed whole.
        format!("{}{}", services(0, 4), services(2, 6)),
        // `services` made by an inline table (an error when parsed whole) or a dotted key
        // of the root (which headers may extend with new tables; declined all the same).
        format!("services = {{ a = {{ port = 1 }} }}\n{}", services(0, 6)),
        format!("services.a.port = 1\n{}", services(0, 6)),
        // An array of tables named `services`.
        format!("[[services]]\nport = 1\n{}", services(0, 6)),
        // `[services]` itself after the cut.
        format!("{}[services]\n{}", services(0, 3), services(3, 6)),
        // Header-like lines inside a multi-line string and a multi-line array.
        format!(
            "{}[services.x]\nd = \"\"\"\n[services.y]\n\"\"\"\n{}",
            services(0, 3),
            services(3, 6)
        ),
        format!(
            "{}[services.x]\na = [\n[1],\n]\n{}",
            services(0, 3),
            services(3, 6)
        ),
        // Quoted and spaced keys after the cut.
        format!("{}[services.\"q\"]\n[ services . r ]\n", services(0, 6)),
    ];
    for middle in cases {
        let text = padded(&middle);
        let got = halves(&text);
        if let Some(got) = got {
            assert_eq!(
                Some(got),
                whole(&text),
                "accepted a file it must not:\n{middle}"
            );
        }
    }
}

#[test]
fn files_that_do_not_parse_whole_are_never_accepted_in_halves() {
    let services = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| format!("[services.s{i}]\nport = {i}\n"))
            .collect()
    };
    // The cut is at the first service header after the middle; each first part is the
    // longer, so the cut falls where the second begins.
    let filler = "# filler filler filler filler\n".repeat(4);
    for middle in [
        // The same service on both sides of the cut.
        format!("x = 1\n{}{}", services(0, 4), services(2, 6)),
        // `services` made by an inline table of the root, which no header may extend.
        format!(
            "services = {{ s9 = {{ port = 1 }} }}\n{filler}{}",
            services(0, 2)
        ),
    ] {
        let text = padded(&middle);
        assert_eq!(whole(&text), None);
        assert_eq!(halves(&text), None, "{middle}");
    }
}

/// Pieces of TOML, some valid anywhere, some only in places, some header-like text that is
/// not a header: random files of them test the halves against the whole parse.
fn piece() -> impl Strategy<Value = String> {
    let n = 0..6usize;
    prop_oneof![
        // Mostly services of many names, as real files are, so that many files are valid
        // and reach the merge.
        12 => (0..400usize).prop_map(|i| format!("[services.s{i}]\nport = {i}\n")),
        1 => n.clone().prop_map(|i| format!("[services.s{i}.sub]\nk = {i}\n")),
        1 => n.clone().prop_map(|i| format!("[[services.s{i}.routes]]\npath = \"/{i}\"\n")),
        1 => n.clone().prop_map(|i| format!("[datastores.d{i}]\nport = {i}\n")),
        1 => n.clone().prop_map(|i| format!("[ services . s{i} ]\n")),
        1 => n.clone().prop_map(|i| format!("[services.\"s{i}\"]\n")),
        1 => n.clone().prop_map(|i| format!("d = \"\"\"\n[services.s{i}]\n\"\"\"\n")),
        1 => n.clone().prop_map(|i| format!("services.s{i} = 1\n")),
        1 => n.clone().prop_map(|i| format!("services = {{ s{i} = 1 }}\n")),
        1 => n.prop_map(|i| format!("# [services.s{i}]\n")),
        1 => Just("[services]\n".to_string()),
        1 => Just("[[services]]\nport = 1\n".to_string()),
        1 => Just("a = [\n[1],\n]\n".to_string()),
        1 => Just("# ü é ß\nk = \"ü\"\n".to_string()),
    ]
}

/// Checks random files of [`piece`]s around the cut; returns how many the halves accepted.
fn random_files(cases: u32) -> u32 {
    use proptest::test_runner::{Config, TestRunner};
    let accepted = std::cell::Cell::new(0);
    let files = (
        proptest::collection::vec(piece(), 0..12),
        proptest::collection::vec(piece(), 0..12),
    );
    let mut runner = TestRunner::new(Config::with_cases(cases));
    let result = runner.run(&files, |(head, tail)| {
        let text = padded(&format!("{}\n{}", head.concat(), tail.concat()));
        if let Some(got) = halves(&text) {
            accepted.set(accepted.get() + 1);
            prop_assert_eq!(Some(got), whole(&text));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    accepted.get()
}

#[test]
fn halves_give_the_whole_tree_or_decline() {
    let cases = 512;
    let accepted = random_files(cases);
    // The pieces make both kinds of file: the test would prove nothing otherwise.
    if two_cores() {
        assert!(
            accepted > cases / 10 && accepted < cases * 9 / 10,
            "{accepted} of {cases} random files parsed in halves"
        );
    }
}
