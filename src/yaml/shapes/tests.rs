//! The shape path against serde-saphyr's own output, on awkward strings and random values.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Serialize;

use super::{Form, Forms, Scan, Skeleton, direct, to_string};

#[derive(Serialize)]
struct Doc {
    name: String,
    count: i64,
    ratio: f64,
    enabled: bool,
    missing: Option<String>,
    labels: BTreeMap<String, String>,
    items: Vec<String>,
    nested: Vec<BTreeMap<String, Vec<u16>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    kind: Kind,
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Plain,
    Yes,
}

/// Strings serde-saphyr quotes, or writes in a way that depends on them.
const AWKWARD: &[&str] = &[
    "",
    "on",
    "no",
    "y",
    "Yes",
    "~",
    "null",
    "0777",
    "1e3",
    "1_000",
    "2024-01-01",
    "0x1F",
    "-",
    ".",
    "#",
    "- a",
    "? a",
    "a: b",
    "a #b",
    "a#b",
    ": a",
    "a:",
    " lead",
    "trail ",
    "\t",
    "multi\nline",
    "multi\nline\n",
    "\u{FEFF}x",
    "quote\"s",
    "back\\slash",
    "<<",
    "=",
    "---",
    "...",
    "é字",
    "[x]",
    "{x}",
    "*a",
    "&a",
    "!t",
    "|",
    ">",
    "'",
    "%",
    "@",
    "`",
    ",x",
];

fn doc(text: &str, n: i64) -> Doc {
    Doc {
        name: text.to_string(),
        count: n,
        ratio: 0.25,
        enabled: n % 2 == 0,
        missing: None,
        labels: BTreeMap::from([
            (text.to_string(), text.to_string()),
            ("app".to_string(), format!("{text}-{n}")),
        ]),
        items: vec![text.to_string(), "plain".to_string()],
        nested: vec![BTreeMap::from([(text.to_string(), vec![1, 2])])],
        skipped: (n % 3 == 0).then_some(3),
        kind: if n % 2 == 0 { Kind::Plain } else { Kind::Yes },
    }
}

#[test]
fn every_awkward_string_is_written_as_serde_saphyr_writes_it() {
    // Twice over: the first of a shape makes its skeleton, the second reuses it.
    for round in 0..2 {
        for (i, text) in AWKWARD.iter().enumerate() {
            let value = doc(text, i as i64 + round);
            assert_eq!(
                to_string(&value).unwrap(),
                direct(&value).unwrap(),
                "{text:?}"
            );
        }
    }
    // Quoting is not shape: most of them share skeletons.
    let kept = super::kept_skeletons();
    assert!(kept > 0 && kept < AWKWARD.len() / 2, "{kept} skeletons");
}

#[test]
fn long_keys_and_marker_characters_fall_back_to_direct() {
    let long_key = "k".repeat(2000);
    let marker = "a\u{E000}0\u{E001}b".to_string();
    for text in [long_key, marker] {
        let value = BTreeMap::from([(text.clone(), vec![text.clone()])]);
        assert_eq!(to_string(&value).unwrap(), direct(&value).unwrap());
    }
}

#[test]
fn top_level_scalars_and_empty_collections() {
    assert_eq!(to_string(&"on").unwrap(), direct(&"on").unwrap());
    assert_eq!(to_string(&42u8).unwrap(), direct(&42u8).unwrap());
    let empty: (Vec<u8>, BTreeMap<String, u8>) = (vec![], BTreeMap::new());
    assert_eq!(to_string(&empty).unwrap(), direct(&empty).unwrap());
}

#[test]
fn forms_are_serde_saphyrs_own() {
    let mut forms = Forms::default();
    assert!(matches!(
        forms.value("plain", Scan::of("plain")),
        super::Form::Same
    ));
    assert!(matches!(forms.value("on", Scan::of("on")), super::Form::Other(t) if &*t == "\"on\""));
    assert!(matches!(
        forms.value("a\nb", Scan::of("a\nb")),
        super::Form::Shape
    ));
    let long = "k".repeat(2000);
    assert!(matches!(
        forms.key(&long, Scan::of(&long)),
        super::Form::Shape
    ));
}

/// serde-saphyr's own text for `s` as a list item.
fn item_text(s: &str) -> String {
    let text = direct(&[s]).unwrap();
    text.strip_prefix("- ")
        .and_then(|t| t.strip_suffix('\n'))
        .unwrap_or(&text)
        .to_string()
}

#[test]
fn strings_taken_as_plain_are_plain_to_serde_saphyr() {
    let plain = [
        "svc-1",
        "a",
        "Requests per second served by svc-99.",
        "sum(rate(http_requests_total{service=\"a\",code=~\"5..\"}[5m])) > 0.5",
        "slo:sli_error:ratio_rate5m",
        "registry.example.com/team/svc:1.2.3",
        "/healthz",
        "a#b",
        "it's 100% [ok] {x} *y* &z !w |v >u `t` @s ,r ?q",
        "nulls",
        "Off-by-one",
    ];
    for s in plain {
        assert!(super::plain_as_it_is(s, Scan::of(s)), "{s:?}");
        assert_eq!(item_text(s), s);
    }
    let words = super::WORDS
        .iter()
        .flat_map(|w| [w.to_string(), w.to_uppercase()]);
    let asked: Vec<String> = AWKWARD.iter().map(|s| s.to_string()).chain(words).collect();
    let mut quoted = 0;
    for s in &asked {
        if item_text(s) != *s {
            quoted += 1;
            assert!(!super::plain_as_it_is(s, Scan::of(s)), "{s:?}");
        }
    }
    assert!(quoted > asked.len() / 2, "{quoted} of {}", asked.len());
}

#[test]
fn strings_taken_as_quoted_are_quoted_by_serde_saphyr() {
    for s in [
        "svc-1: requests are being rejected",
        "a #b",
        ": a",
        "1: yes",
        "for 5 minutes: the pod is gone, or its /metrics endpoint is #1",
    ] {
        assert!(super::quoted_as_it_is(s, Scan::of(s)), "{s:?}");
        assert_eq!(item_text(s), format!("\"{s}\""));
    }
    for s in ["a: \"b\"", "a: \\", "a:\tb", "a: é", "plain", "a:b", "a#b"] {
        assert!(!super::quoted_as_it_is(s, Scan::of(s)), "{s:?}");
    }
}

/// Short strings of the characters and YAML 1.1 words that decide quoting.
const NEAR_MISSES: &str =
    r#"(([A-Za-z(/~0-9.+_ -]|[:#',\[\]"{}\\]|yes|No|ON|off|n|Y|null|nan|inf|true|é|\t){0,6})"#;

/// serde-saphyr's own text for `s` as a map key.
fn key_text(s: &str) -> String {
    let text = direct(&BTreeMap::from([(s, 0)])).unwrap();
    text.strip_suffix(": 0\n").unwrap_or(&text).to_string()
}

#[test]
fn keys_taken_as_plain_are_plain_to_serde_saphyr() {
    for s in [
        "app.kubernetes.io/name",
        "a",
        "checksum/config",
        "it's a key#1",
        "x-y_z",
    ] {
        assert!(super::plain_key_as_it_is(s, Scan::of(s)), "{s:?}");
        assert_eq!(key_text(s), s);
    }
    for s in [
        "a:b",
        "a,b",
        "a[0]",
        "{a}",
        "(a)",
        "/a",
        "yes",
        &"k".repeat(1025),
    ] {
        assert!(!super::plain_key_as_it_is(s, Scan::of(s)), "{s:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    /// As above, for map keys.
    #[test]
    fn plain_keys_without_asking_agree_with_serde_saphyr(
        s in NEAR_MISSES
    ) {
        if super::plain_key_as_it_is(&s, Scan::of(&s)) {
            prop_assert_eq!(key_text(&s), s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    /// Whatever is taken as plain (or as quoted with nothing to escape) without asking
    /// serde-saphyr, serde-saphyr writes so.
    #[test]
    fn plain_without_asking_agrees_with_serde_saphyr(
        s in NEAR_MISSES
    ) {
        if super::plain_as_it_is(&s, Scan::of(&s)) {
            prop_assert_eq!(item_text(&s), s);
        } else if super::quoted_as_it_is(&s, Scan::of(&s)) {
            prop_assert_eq!(item_text(&s), format!("\"{s}\""));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    /// A multi-line map value written without asking serde-saphyr is written as
    /// serde-saphyr writes it, and those it is not are left to serde-saphyr.
    #[test]
    fn literal_blocks_without_asking_agree_with_serde_saphyr(
        s in proptest::string::string_regex("[a :#\"|\n\t-]{0,16}").unwrap()
    ) {
        let mut fast = String::new();
        let asked = Forms::default().block(&s);
        if super::literal_block_as_it_is(&s, &mut fast) {
            let Form::Block(text) = asked else {
                panic!("serde-saphyr writes {s:?} other than as a literal block");
            };
            prop_assert_eq!(fast, text.to_string());
        } else {
            prop_assert!(fast.is_empty());
        }
    }
}

#[test]
fn literal_blocks_without_asking_cover_queries_and_descriptions() {
    for s in [
        "a\nb",
        "rate(x[5m])\n  and\nup == 0\n",
        "line: one\n\n# two\n\n\n",
        "\nfirst line after a break",
    ] {
        let mut fast = String::new();
        assert!(super::literal_block_as_it_is(s, &mut fast), "{s:?}");
        let Form::Block(text) = Forms::default().block(s) else {
            panic!("{s:?} is a literal block");
        };
        assert_eq!(fast, &*text, "{s:?}");
    }
    for s in [" indented\nnext", "\n\n", "tab\there\n", "caf\u{e9}\nx"] {
        assert!(
            !super::literal_block_as_it_is(s, &mut String::new()),
            "{s:?}"
        );
    }
}

#[derive(Serialize, Debug, Clone)]
struct Item {
    first: String,
    rules: Vec<BTreeMap<String, String>>,
    count: Option<i64>,
    last: String,
    nested: Vec<Vec<String>>,
}

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9 :#\\-\n\"'.|>\r\t]{0,12}").unwrap()
}

fn item() -> impl Strategy<Value = Item> {
    (
        text(),
        proptest::collection::vec(proptest::collection::btree_map(text(), text(), 0..3), 0..3),
        proptest::option::of(any::<i64>()),
        text(),
        proptest::collection::vec(proptest::collection::vec(text(), 0..2), 0..2),
    )
        .prop_map(|(first, rules, count, last, nested)| Item {
            first,
            rules,
            count,
            last,
            nested,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Random documents, each written twice (the second time through a kept skeleton
    /// when its shape was seen), always as serde-saphyr writes them.
    #[test]
    fn random_documents_are_written_as_serde_saphyr_writes_them(
        items in proptest::collection::vec(item(), 0..4)
    ) {
        let expected = direct(&items).unwrap();
        prop_assert_eq!(&to_string(&items).unwrap(), &expected);
        prop_assert_eq!(&to_string(&items).unwrap(), &expected);
    }
}

/// A map whose entries keep their order, so a pattern's keys can be replaced in place.
#[derive(Debug, Clone)]
struct Pairs(Vec<(String, String)>);

impl Serialize for Pairs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A document of strings only, as a pattern takes.
#[derive(Serialize, Debug, Clone)]
struct Strings {
    first: String,
    labels: Pairs,
    rules: Vec<Pairs>,
    items: Vec<String>,
    last: Option<String>,
}

impl Strings {
    /// The same document with its strings replaced, in the order they are serialised.
    fn with(&self, new: &mut impl Iterator<Item = String>) -> Strings {
        fn pairs(p: &Pairs, new: &mut impl Iterator<Item = String>) -> Pairs {
            Pairs(
                p.0.iter()
                    .map(|_| (new.next().unwrap(), new.next().unwrap()))
                    .collect(),
            )
        }
        let first = new.next().unwrap();
        let labels = pairs(&self.labels, new);
        let rules = self.rules.iter().map(|p| pairs(p, new)).collect();
        let items = self.items.iter().map(|_| new.next().unwrap()).collect();
        let last = self.last.as_ref().map(|_| new.next().unwrap());
        Strings {
            first,
            labels,
            rules,
            items,
            last,
        }
    }

    /// Its strings in the order they are serialised.
    fn strings(&self) -> Vec<&String> {
        let mut out = vec![&self.first];
        for p in std::iter::once(&self.labels).chain(&self.rules) {
            out.extend(p.0.iter().flat_map(|(k, v)| [k, v]));
        }
        out.extend(&self.items);
        out.extend(&self.last);
        out
    }
}

fn strings_doc() -> impl Strategy<Value = Strings> {
    let pairs = || proptest::collection::vec((text(), text()), 0..3).prop_map(Pairs);
    (
        text(),
        pairs(),
        proptest::collection::vec(pairs(), 0..3),
        proptest::collection::vec(text(), 0..3),
        proptest::option::of(text()),
    )
        .prop_map(|(first, labels, rules, items, last)| Strings {
            first,
            labels,
            rules,
            items,
            last,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// A pattern filled with other strings is what serde-saphyr writes for the document
    /// with those strings; it declines only where a string's layout depends on it.
    #[test]
    fn patterns_filled_with_other_strings_are_serde_saphyrs_text(
        doc in strings_doc(),
        new in proptest::collection::vec(text(), 40),
    ) {
        let Some(pattern) = super::pattern(&doc) else {
            // Only a line break where no block scalar can stand makes no pattern.
            prop_assert!(doc.strings().iter().any(|s| s.contains('\n')));
            return Ok(());
        };
        prop_assert_eq!(pattern.fill(&pattern.strings().collect::<Vec<_>>()), Some(to_string(&doc).unwrap()));
        let count = pattern.strings().count();
        let other = doc.with(&mut new.iter().cloned());
        let new = &new[..count];
        match pattern.fill(new) {
            Some(text) => prop_assert_eq!(text, direct(&other).unwrap()),
            None => prop_assert!(new.iter().any(|s| s.contains('\n'))),
        }
        prop_assert_eq!(pattern.fill(&new[..count.saturating_sub(1)]).filter(|_| count > 0), None);
    }
}

#[test]
fn patterns_take_strings_only() {
    #[derive(Serialize)]
    struct WithNumber {
        name: String,
        port: u16,
    }
    let numbered = WithNumber {
        name: "a".to_string(),
        port: 80,
    };
    assert!(super::pattern(&numbered).is_none());
    let tuple = ("a".to_string(), "b".to_string());
    assert!(super::pattern(&tuple).is_none());
    let list = super::pattern(&vec!["a", "b"]).unwrap();
    let filled = list.fill(&["on", "x: y"]).unwrap();
    assert_eq!(filled, direct(&vec!["on", "x: y"]).unwrap());
    assert_eq!(filled, "- \"on\"\n- \"x: y\"\n");
    assert_eq!(list.fill(&["a"]), None, "one string per scalar");
}

#[test]
fn block_scalars_are_indented_for_their_key() {
    let texts = [
        "a\nb",
        "a\n\nb\n",
        "  lead\nx",
        "x\n",
        "\n",
        "\n\n",
        "a\r\nb",
        "x\n  y\n\n",
    ];
    for round in 0..2 {
        for text in texts {
            let value = vec![BTreeMap::from([
                ("alert".to_string(), text.to_string()),
                ("expr".to_string(), format!("{text}{round}")),
            ])];
            let nested = BTreeMap::from([("groups", vec![BTreeMap::from([("rules", &value)])])]);
            assert_eq!(
                to_string(&value).unwrap(),
                direct(&value).unwrap(),
                "{text:?}"
            );
            assert_eq!(
                to_string(&nested).unwrap(),
                direct(&nested).unwrap(),
                "{text:?}"
            );
        }
    }
}

#[test]
fn a_skeleton_whose_markers_are_not_plain_is_refused() {
    assert!(Skeleton::parse("a: \u{E000}0\u{E001}\n".to_string(), 1).is_some());
    assert!(Skeleton::parse("a: \"\u{E000}0\u{E001}\"\n".to_string(), 1).is_none());
    assert!(Skeleton::parse("a: \u{E000}1\u{E001}\n".to_string(), 1).is_none());
    assert!(Skeleton::parse("a: \u{E000}0\u{E001}\n".to_string(), 2).is_none());
}
