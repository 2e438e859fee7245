//! The YAML writer's doors against serde-saphyr's direct output, and its skeletons' reuse.

use std::collections::BTreeMap;

use serde::Serialize;

use super::*;

#[derive(Serialize, Clone)]
struct Item {
    name: String,
    text: String,
    labels: BTreeMap<String, String>,
}

fn items(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| Item {
            name: format!("item-{i}"),
            text: if i % 3 == 0 {
                format!("line one\n\n  line {i}\n")
            } else {
                "on".to_string()
            },
            labels: BTreeMap::from([("a".to_string(), i.to_string())]),
        })
        .collect()
}

#[derive(Serialize)]
struct Doc {
    kind: String,
    items: Vec<Item>,
    nested: Vec<BTreeMap<String, Vec<Item>>>,
}

fn doc(items: Vec<Item>, inner: Vec<Item>) -> Doc {
    Doc {
        kind: "no".to_string(),
        items,
        nested: vec![BTreeMap::from([
            ("a".to_string(), Vec::new()),
            ("inner".to_string(), inner),
        ])],
    }
}

/// Lists written item by item, at the top level and nested in an item, are the document
/// serialised whole.
#[test]
fn lists_written_item_by_item_equal_whole_documents() {
    let whole = to_string(&doc(items(20), items(20))).unwrap();
    let mut out = String::new();
    let mut top = |list: &mut Items<'_>| -> Result<(), YamlError> {
        items(20).iter().try_for_each(|item| list.push(item))
    };
    let mut nested = |list: &mut Items<'_>| -> Result<(), YamlError> {
        items(20).iter().try_for_each(|item| list.push(item))
    };
    with_lists(
        &mut out,
        &doc(Vec::new(), Vec::new()),
        &mut [("items", &mut top), ("inner", &mut nested)],
    )
    .unwrap();
    assert_eq!(out, whole);

    // An item whose own list is written item by item.
    let outer = vec![doc(items(3), Vec::new())];
    let mut items_of_item = |list: &mut Items<'_>| -> Result<(), YamlError> {
        items(3).iter().try_for_each(|item| list.push(item))
    };
    let mut docs = |list: &mut Items<'_>| -> Result<(), YamlError> {
        list.push_with_lists(
            &doc(Vec::new(), Vec::new()),
            &mut [("items", &mut items_of_item)],
        )
    };
    #[derive(Serialize)]
    struct Outer {
        docs: Vec<Doc>,
    }
    let mut out = String::new();
    with_lists(
        &mut out,
        &Outer { docs: Vec::new() },
        &mut [("docs", &mut docs)],
    )
    .unwrap();
    assert_eq!(out, to_string(&Outer { docs: outer }).unwrap());
}

/// A list that gets no item stays `[]`; a list whose empty form is not on a line of its
/// own, or not the only one of its name, is refused rather than guessed at.
#[test]
fn lists_that_cannot_be_found_are_refused() {
    let mut none = |_: &mut Items<'_>| -> Result<(), YamlError> { Ok(()) };
    let mut out = String::new();
    with_lists(
        &mut out,
        &BTreeMap::from([("a", Vec::<u8>::new())]),
        &mut [("a", &mut none)],
    )
    .unwrap();
    assert_eq!(out, "a: []\n");
    let mut out = String::new();
    let missing = with_lists(
        &mut out,
        &BTreeMap::from([("a", Vec::<u8>::new())]),
        &mut [("b", &mut none)],
    );
    assert!(missing.is_err());
    // Twice the same name.
    let twice = BTreeMap::from([
        ("x", BTreeMap::from([("a", Vec::<u8>::new())])),
        ("y", BTreeMap::from([("a", Vec::new())])),
    ]);
    assert!(with_lists(&mut String::new(), &twice, &mut [("a", &mut none)]).is_err());
    // The first key of a list item shares the dash's line: not a line of its own.
    let in_item = vec![BTreeMap::from([("a", Vec::<u8>::new())])];
    assert!(with_lists(&mut String::new(), &in_item, &mut [("a", &mut none)]).is_err());
}

/// A head is the document up to its last list's items, which follow indented for it.
#[test]
fn heads_take_the_items_that_follow_them() {
    #[derive(Serialize)]
    struct Spec {
        groups: Vec<Item>,
    }
    #[derive(Serialize)]
    struct Object {
        kind: String,
        spec: Spec,
    }
    let object = |groups| Object {
        kind: "x".to_string(),
        spec: Spec { groups },
    };
    let head = list_head(&object(Vec::new()), "groups").unwrap();
    assert_eq!(head.column, 2);
    let mut text = head.text.clone();
    indent_lines(&mut text, &recurring(&items(5)).unwrap(), head.column);
    assert_eq!(
        text,
        documents(&[Document::new(&object(items(5))).unwrap()])
    );
    // Not the last entry.
    let not_last = BTreeMap::from([("a", vec![]), ("b", vec![1u8])]);
    assert!(list_head(&not_last, "a").is_err());
}

/// Values serialised with placeholders and filled give the value serialised with the
/// names in place; a placeholder beyond the names given refuses the pattern.
#[test]
fn placeholders_filled_equal_the_value_with_the_names() {
    let named = |a: &str, b: &str| {
        vec![Item {
            name: format!("{a}-svc"),
            text: format!("up{{job=\"{b}\"}} of {a}"),
            labels: BTreeMap::from([(a.to_string(), b.to_string())]),
        }]
    };
    let (p0, p1) = (Placeholders::placeholder(0), Placeholders::placeholder(1));
    let pattern = Placeholders::new(&named(&p0.to_string(), &p1.to_string()), 2).unwrap();
    for (a, b) in [("api", "db"), ("on", "no"), ("x", "1e3")] {
        assert_eq!(
            pattern.fill(&[a, b]),
            Some(recurring(&named(a, b)).unwrap()),
            "{a} {b}"
        );
    }
    assert_eq!(pattern.fill(&["a"]), None, "one name per placeholder");
    assert!(Placeholders::new(&named(&p0.to_string(), &p1.to_string()), 1).is_none());
}

/// Documents of one shape reuse one skeleton; threads share the skeletons they make, so a
/// shape one thread laid out is not laid out again by another.
#[test]
fn skeletons_are_made_once_per_shape_and_shared_by_threads() {
    #[derive(Serialize)]
    struct Probe {
        sharing_probe: Vec<u8>,
        name: String,
    }
    let shapes = 40;
    std::thread::scope(|scope| {
        for t in 0..4 {
            scope.spawn(move || {
                for i in 0..shapes * 5 {
                    let d = Probe {
                        sharing_probe: vec![1; (i + t) % shapes],
                        name: format!("probe-{i}"),
                    };
                    assert_eq!(recurring(&d).unwrap(), to_string(&d).unwrap());
                }
                let kept = shapes::kept_skeletons();
                assert!(kept >= shapes, "{kept} skeletons kept by a thread");
            });
        }
    });
    let (made, seen) = shapes::skeletons_made(b"sharing_probe");
    assert_eq!(seen, shapes);
    // Without sharing, each of the four threads makes every shape; with it, only threads
    // meeting a new shape at the same moment both make it.
    assert!(
        made * 2 < seen * 3,
        "{made} skeletons made for {seen} shapes"
    );
}
