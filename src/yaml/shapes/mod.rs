//! YAML by shape: serde-saphyr lays out each distinct document shape once.
//!
//! The documents of a platform differ from their neighbours mostly in their scalars: every
//! service's ServiceAccount, Deployment or rule group has the same keys in the same nesting
//! with other names, images and numbers. serde-saphyr's cost is per node (every key and
//! every scalar is checked for the quoting YAML 1.1 needs), so laying out the same shape
//! thousands of times is most of what rendering a large platform costs.
//!
//! A document is first walked by a small serde serializer ([`Walk`]) that records its
//! *shape* (nesting, struct field names, list lengths, booleans, floats, nulls and any
//! multi-line string that is not a map value) and, for every other scalar (strings,
//! integers and map keys), the exact text serde-saphyr writes for it. That text comes from
//! serde-saphyr itself: each distinct string is serialised alone, as a one-item list or a
//! one-entry map, and the result cached per thread. Two kinds of string skip that call,
//! because serde-saphyr's rule for them is plain to see and most strings are new to the
//! cache (every service brings its own names): printable ASCII that no reading of YAML 1.1
//! can take for anything but itself is written as it is, and printable ASCII with nothing
//! to escape but a `: ` or ` #` in it goes in double quotes (`plain_as_it_is`,
//! `quoted_as_it_is`; property tests hold both to serde-saphyr's output). The first
//! document of a shape is serialised by serde-saphyr with a marker (U+E000 index U+E001) in
//! place of each such scalar ([`Replay`]); that text is kept as the shape's [`Skeleton`],
//! and every document of the shape is its skeleton with the scalars' texts written into
//! the markers' places.
//!
//! The layout therefore still comes from serde-saphyr, and every scalar is written as
//! serde-saphyr writes it. This is exact because serde-saphyr
//! writes a single-line string's text the same way wherever it stands in block style (a
//! map value or a list item: plain when that is safe, else double-quoted) and a simple key
//! the same way in every map. A multi-line map value is a literal block scalar whose lines
//! serde-saphyr indents two columns past its key: its text is taken for a key in the first
//! column and re-indented for the key's column in the skeleton. Anything else whose layout
//! depends on its content (a multi-line list item, a key too long for the simple form) is
//! part of the shape instead. Values this
//! walk does not model (enum variants with data, byte strings, serde-saphyr's own wrapper
//! types, text containing the marker characters) are serialised directly, as are documents
//! whose skeleton does not read back as expected. Tests compare the two paths on every
//! document of the reference and of generated platforms, and on random values.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use serde_saphyr::SerializeError;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use crate::markers::{HOLE_CLOSE as CLOSE, HOLE_OPEN as OPEN};
/// Distinct shapes kept per thread and in [`SHARED`]; further shapes are serialised directly.
const MAX_SHAPES: usize = 4096;
/// Strings up to this length have their YAML text cached; longer ones (queries,
/// descriptions) rarely repeat and are serialised alone each time.
const MAX_CACHED_LEN: usize = 96;
const MAX_CACHED_FORMS: usize = 1 << 16;
/// Bytes of a walk's buffers a thread keeps for its next document.
const MAX_KEPT_BUFFERS: usize = 256 << 10;

/// The options of every YAML document berrys writes.
fn options() -> serde_saphyr::SerializerOptions {
    let mut options = serde_saphyr::SerializerOptions::default();
    // Long single-line strings (PromQL, descriptions) stay on one line instead of being
    // folded at 80 columns: folding is lossless but makes queries hard to read and diff.
    // Multi-line strings still use literal blocks.
    options.folded_wrap_chars = usize::MAX;
    options
}

/// `value` serialised by serde-saphyr directly, node by node.
pub fn direct<T: Serialize>(value: &T) -> Result<String, SerializeError> {
    serde_saphyr::to_string_with_options(value, options())
}

/// `value` serialised as [`direct`] would, through the skeleton of its shape.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, SerializeError> {
    CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return direct(value);
        };
        let Cache {
            shapes,
            forms,
            buffers,
            ..
        } = &mut *cache;
        // The walk's buffers are this thread's, kept between documents: allocating and
        // growing three buffers per document was a tenth of a small document's cost.
        let mut walk = Walk::with_buffers(forms, false, std::mem::take(buffers));
        let walked = value.serialize(&mut walk).is_ok();
        let Walk {
            mut shape,
            mut texts,
            mut ends,
            holes,
            ..
        } = walk;
        let filled = walked.then(|| {
            let skeleton = match shapes.get(shape.as_slice()) {
                Some(known) => known.clone(),
                None => {
                    let made = shared(&shape, || skeleton(value, forms, holes).map(Arc::new));
                    if shapes.len() < MAX_SHAPES {
                        shapes.insert(shape.clone(), made.clone());
                    }
                    made
                }
            };
            skeleton.and_then(|skeleton| skeleton.fill(&texts, &ends))
        });
        // Kept only while small: a large one-off document's buffers would stay for the
        // rest of the run.
        if shape.capacity()
            + texts.capacity()
            + ends.capacity() * std::mem::size_of::<(usize, bool)>()
            <= MAX_KEPT_BUFFERS
        {
            shape.clear();
            texts.clear();
            ends.clear();
            *buffers = (shape, texts, ends);
        }
        match filled.flatten() {
            Some(text) => Ok(text),
            None => direct(value),
        }
    })
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Skeletons by shape, made by any thread. A thread looks here when a shape is new to it:
/// every rendering thread meets nearly every shape of a platform, and making a skeleton
/// costs tens of documents filled.
type Skeletons = HashMap<Vec<u8>, Option<Arc<Skeleton>>>;
static SHARED: Mutex<Option<Skeletons>> = Mutex::new(None);
/// Skeletons made for each shape by any thread, kept or not: what the tests hold the
/// sharing to.
#[cfg(test)]
static MADE: Mutex<Option<HashMap<Vec<u8>, usize>>> = Mutex::new(None);

/// How many skeletons all threads have made for the shapes whose bytes hold `marked` (a
/// field name), and how many such shapes there are: with every thread taking the others'
/// skeletons, the two stay close.
#[cfg(test)]
pub(super) fn skeletons_made(marked: &[u8]) -> (usize, usize) {
    let made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let counts: Vec<usize> = made
        .iter()
        .flatten()
        .filter(|(shape, _)| shape.windows(marked.len()).any(|w| w == marked))
        .map(|(_, n)| *n)
        .collect();
    (counts.iter().sum(), counts.len())
}

/// The skeleton of `shape` from [`SHARED`], or made by `make` and kept there. Made outside
/// the lock, so a thread never waits for another's skeleton of a different shape; two
/// threads meeting a new shape at once both make it, and the first one kept stays.
fn shared(shape: &[u8], make: impl FnOnce() -> Option<Arc<Skeleton>>) -> Option<Arc<Skeleton>> {
    if let Ok(guard) = SHARED.lock()
        && let Some(known) = guard.as_ref().and_then(|skeletons| skeletons.get(shape))
    {
        return known.clone();
    }
    let made = make();
    #[cfg(test)]
    if let Ok(mut counts) = MADE.lock() {
        *counts
            .get_or_insert_with(HashMap::default)
            .entry(shape.to_vec())
            .or_insert(0) += 1;
    }
    let Ok(mut guard) = SHARED.lock() else {
        return made;
    };
    let skeletons = guard.get_or_insert_with(HashMap::default);
    if let Some(known) = skeletons.get(shape) {
        return known.clone();
    }
    if skeletons.len() < MAX_SHAPES {
        skeletons.insert(shape.to_vec(), made.clone());
    }
    made
}

/// Skeletons this thread keeps (shapes seen and usable).
#[cfg(test)]
pub(super) fn kept_skeletons() -> usize {
    CACHE.with(|c| c.borrow().shapes.values().filter(|s| s.is_some()).count())
}

#[derive(Default)]
struct Cache {
    /// Skeleton by shape; `None` for a shape whose skeleton could not be used.
    shapes: HashMap<Vec<u8>, Option<Arc<Skeleton>>>,
    forms: Forms,
    /// A [`Walk`]'s shape, texts and ends, emptied, for the next document.
    buffers: (Vec<u8>, String, Vec<(usize, bool)>),
}

/// How serde-saphyr writes a scalar that is not part of the shape.
#[derive(Clone)]
enum Form {
    /// As it is (plain).
    Same,
    /// As this text (quoted).
    Other(Box<str>),
    /// In double quotes, with nothing to escape.
    Quoted,
    /// As this block scalar, written for a key in the first column: its lines are indented
    /// by the column of the key it stands under.
    Block(Box<str>),
    /// Its layout depends on it: part of the shape.
    Shape,
}

#[derive(Default)]
struct Forms {
    values: HashMap<Box<str>, Form>,
    keys: HashMap<Box<str>, Form>,
}

impl Forms {
    /// `s` as a value; `scan` is [`Scan::of`] it.
    fn value(&mut self, s: &str, scan: Scan) -> Form {
        if plain_as_it_is(s, scan) {
            return Form::Same;
        }
        if quoted_as_it_is(s, scan) {
            return Form::Quoted;
        }
        if s.contains('\n') {
            return Form::Shape;
        }
        cached(&mut self.values, s, |s| {
            let text = direct(&[s]).ok()?;
            text.strip_prefix("- ")?
                .strip_suffix('\n')
                .map(str::to_string)
        })
    }

    /// A multi-line string as a map value: a literal block scalar, whose header and lines
    /// are serde-saphyr's for a key in the first column.
    fn block(&mut self, s: &str) -> Form {
        cached(&mut self.values, s, |s| {
            let text = direct(&std::collections::BTreeMap::from([("k", s)])).ok()?;
            text.strip_prefix("k: ")?
                .strip_suffix('\n')
                .map(str::to_string)
        })
    }

    /// `s` as a map key; `scan` is [`Scan::of`] it.
    fn key(&mut self, s: &str, scan: Scan) -> Form {
        if plain_key_as_it_is(s, scan) {
            return Form::Same;
        }
        if s.contains('\n') {
            return Form::Shape;
        }
        cached(&mut self.keys, s, |s| {
            let text = direct(&std::collections::BTreeMap::from([(s, 0u8)])).ok()?;
            let form = text.strip_suffix(": 0\n")?;
            (!form.starts_with("? ")).then(|| form.to_string())
        })
    }
}

/// Where a scalar stands, as far as its text depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Key,
    /// The value of a map's key: a multi-line string is a literal block there.
    MapValue,
    /// Anywhere else (a list item).
    Item,
}

/// A scalar's text as [`Forms::text`] found it.
enum Text {
    /// Appended; `block` when it is a literal block scalar.
    Hole { block: bool },
    /// Its layout depends on it: nothing was appended.
    Shape,
}

impl Forms {
    /// Appends to `texts` the text serde-saphyr writes for the string `v` at `place`, with
    /// whether `v` spans lines.
    fn text(
        &mut self,
        v: &str,
        place: Place,
        texts: &mut String,
    ) -> Result<(Text, bool), Unshaped> {
        // Printable ASCII holds neither a line break nor a marker (lead byte 0xEE).
        let scan = Scan::of(v);
        let multiline = match scan.printable() {
            true => false,
            false if v.contains([OPEN, CLOSE]) => return Err(Unshaped),
            false => v.contains('\n'),
        };
        let form = match place {
            Place::Key => self.key(v, scan),
            // Written straight into `texts` when serde-saphyr's rule is plain to see.
            Place::MapValue if multiline && literal_block_as_it_is(v, texts) => {
                return Ok((Text::Hole { block: true }, true));
            }
            Place::MapValue if multiline => self.block(v),
            Place::MapValue | Place::Item => self.value(v, scan),
        };
        let block = matches!(form, Form::Block(_));
        match form {
            Form::Same => texts.push_str(v),
            Form::Quoted => {
                texts.push('"');
                texts.push_str(v);
                texts.push('"');
            }
            Form::Other(text) | Form::Block(text) => texts.push_str(&text),
            Form::Shape => return Ok((Text::Shape, multiline)),
        }
        Ok((Text::Hole { block }, multiline))
    }
}

/// A document to be made again with other strings: its skeleton, and for each of its
/// scalars where it stands, the string it had and that string's text. Made by [`pattern`];
/// for documents that recur with the same shape and the same strings but a few names,
/// where building each one costs more than putting the names into the strings
/// ([`Pattern::fill_with`]).
#[derive(Debug)]
pub struct Pattern {
    skeleton: Skeleton,
    slots: Vec<Slot>,
    /// Bytes of all the slots' texts, to size a filled document's.
    texts_len: usize,
}

#[derive(Debug)]
struct Slot {
    place: Place,
    string: String,
    text: String,
    block: bool,
}

/// The pattern of `value`: `None` when a scalar of it is not a string (a number is written
/// by its type, which a string put in its place would not have), or a string whose layout
/// depends on it (a multi-line list item), or anything [`to_string`] serialises directly.
pub fn pattern<T: Serialize>(value: &T) -> Option<Pattern> {
    CACHE.with(|cache| {
        let mut cache = cache.try_borrow_mut().ok()?;
        let forms = &mut cache.forms;
        let mut walk = Walk::new(forms, false);
        walk.slots = Some(Vec::new());
        value.serialize(&mut walk).ok()?;
        let (holes, places, texts, ends) = (
            walk.holes,
            walk.slots.take()?,
            std::mem::take(&mut walk.texts),
            std::mem::take(&mut walk.ends),
        );
        let skeleton = skeleton(value, forms, holes)?;
        let mut from = 0;
        let slots = places
            .into_iter()
            .zip(ends)
            .map(|((place, string), (to, block))| {
                let text = texts[from..to].to_string();
                from = to;
                Slot {
                    place,
                    string,
                    text,
                    block,
                }
            })
            .collect();
        Some(Pattern {
            skeleton,
            slots,
            texts_len: texts.len(),
        })
    })
}

impl Pattern {
    /// The strings of the document the pattern was made from, one per scalar, in order.
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|slot| slot.string.as_str())
    }

    /// What [`to_string`] gives for the pattern's document with `strings` in place of its
    /// scalars' strings; `None` when they are not one per scalar or a string's layout would
    /// depend on it (a line break where no literal block can stand).
    #[cfg(test)]
    pub fn fill<S: AsRef<str>>(&self, strings: &[S]) -> Option<String> {
        if strings.len() != self.slots.len() {
            return None;
        }
        self.fill_with(|i, buf| {
            buf.push_str(strings[i].as_ref());
            true
        })
    }

    /// [`Self::fill`] with the strings from `string_of(i, buf)`, which writes scalar `i`'s
    /// string into `buf`, or returns `false` to keep the pattern's own (whose text is known).
    pub fn fill_with(
        &self,
        mut string_of: impl FnMut(usize, &mut String) -> bool,
    ) -> Option<String> {
        CACHE.with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            let mut texts = String::with_capacity(self.texts_len + self.texts_len / 2);
            let mut ends = Vec::with_capacity(self.slots.len());
            let mut buf = String::new();
            for (i, slot) in self.slots.iter().enumerate() {
                buf.clear();
                if !string_of(i, &mut buf) {
                    texts.push_str(&slot.text);
                    ends.push((texts.len(), slot.block));
                    continue;
                }
                match cache.forms.text(&buf, slot.place, &mut texts).ok()? {
                    (Text::Hole { block }, _) => ends.push((texts.len(), block)),
                    (Text::Shape, _) => return None,
                }
            }
            self.skeleton.fill(&texts, &ends)
        })
    }
}

/// YAML 1.1 words serde-saphyr quotes as values when they stand alone, in any case.
const WORDS: [&str; 11] = [
    "null", "true", "false", "nan", "inf", "yes", "y", "on", "no", "n", "off",
];

/// Whether serde-saphyr writes `s`, a value in block style, as it is (plain), known without
/// asking it: most of a platform's strings are new to the cache (every service brings its
/// own names) and are names, queries or sentences of this kind. Printable ASCII starting
/// with a letter, `(` or `/` (so neither a number, a date, an indicator nor a document
/// marker), with no `: `, ` #`, trailing space or trailing colon, and not one of the YAML
/// 1.1 words: a strict subset of what serde-saphyr writes plain (its `is_plain_value_safe`,
/// with folding off). Everything else is asked. A test holds this to serde-saphyr's output.
fn plain_as_it_is(s: &str, scan: Scan) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'(' || first == b'/')
        && last != b' '
        && last != b':'
        && !(bytes.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)))
        && scan.printable()
        && !mapping_or_comment(s, scan)
}

/// Whether serde-saphyr writes `s`, a value in block style, in double quotes with nothing
/// escaped, known without asking it: printable ASCII without `"` or `\`, holding a `: ` or
/// a ` #`, which no plain scalar can (alert summaries and descriptions often do).
fn quoted_as_it_is(s: &str, scan: Scan) -> bool {
    scan.printable() && !scan.has(Scan::QUOTE_OR_BACKSLASH) && mapping_or_comment(s, scan)
}

/// Whether `s` holds a `: ` or a ` #`, which would make a plain scalar a mapping or a comment.
fn mapping_or_comment(s: &str, scan: Scan) -> bool {
    scan.has(Scan::COLON_OR_HASH) && (s.contains(": ") || s.contains(" #"))
}

/// [`Scan`]'s flags of each byte.
const SCAN_FLAGS: [u8; 256] = {
    let mut table = [Scan::UNPRINTABLE; 256];
    let mut b = b' ';
    while b <= b'~' {
        table[b as usize] = match b {
            b':' | b'#' => Scan::COLON_OR_HASH,
            b'"' | b'\\' => Scan::QUOTE_OR_BACKSLASH,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// What one pass over a string's bytes finds. Every string of every document is scanned,
/// so the pass has no early exit: 16 bytes at a time without a branch (the compiler
/// vectorises it), the rest through a table.
#[derive(Clone, Copy)]
struct Scan(u8);

impl Scan {
    /// Anything but printable ASCII (space to tilde): a control, a line break, a marker.
    const UNPRINTABLE: u8 = 1;
    const COLON_OR_HASH: u8 = 2;
    const QUOTE_OR_BACKSLASH: u8 = 4;

    fn of(s: &str) -> Scan {
        let chunks = s.as_bytes().chunks_exact(16);
        // Short strings (most names) are all remainder: a table lookup per byte.
        let mut flags = chunks
            .remainder()
            .iter()
            .fold(0, |flags, &b| flags | SCAN_FLAGS[usize::from(b)]);
        // Sixteen lanes, reduced once at the end: a reduction per chunk keeps the compiler
        // from vectorising the loop.
        let mut lanes = [0u8; 16];
        for chunk in chunks {
            for (lane, &b) in lanes.iter_mut().zip(chunk) {
                *lane |= u8::from(b.wrapping_sub(b' ') >= 0x5f)
                    | (u8::from((b == b':') | (b == b'#')) << 1)
                    | (u8::from((b == b'"') | (b == b'\\')) << 2);
            }
        }
        flags |= lanes.iter().fold(0, |a, &l| a | l);
        Scan(flags)
    }

    fn printable(self) -> bool {
        !self.has(Scan::UNPRINTABLE)
    }

    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// Appends serde-saphyr's literal block for the multi-line map value `s`, as
/// [`Forms::block`] would have it (for a key in the first column), when its rule is plain to
/// see, and returns whether it did: printable ASCII lines, the first line with text not
/// starting with a space (which would need an indentation indicator), and some text before
/// the trailing line breaks. The header is `|` with `-` when no line break ends `s` and `+`
/// when several do; each line with text is indented two columns. Queries and descriptions
/// spread over lines are of this kind and rarely repeat, so asking serde-saphyr for each
/// would serialise every one of them twice. A test holds this to serde-saphyr's output.
fn literal_block_as_it_is(s: &str, out: &mut String) -> bool {
    let mut breaks = 0;
    for b in s.bytes() {
        match b {
            b'\n' => breaks += 1,
            b' '..=b'~' => {}
            _ => return false,
        }
    }
    let content = s.trim_end_matches('\n');
    let trailing = s.len() - content.len();
    let first_text = content.split('\n').find(|line| !line.is_empty());
    if breaks == 0 || first_text.is_none_or(|line| line.starts_with(' ')) {
        return false;
    }
    out.reserve(s.len() + 8 + 2 * breaks);
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in content.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str("  ");
            out.push_str(line);
        }
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    true
}

/// Whether serde-saphyr writes `s` as a simple map key as it is: a plain value (above) that
/// starts with a letter, has none of the characters a key in flow style would make
/// structural (`:`, `,`, brackets and braces) and is short enough for a simple key.
fn plain_key_as_it_is(s: &str, scan: Scan) -> bool {
    s.len() <= 1024
        && s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && !s
            .bytes()
            .any(|b| matches!(b, b':' | b',' | b'[' | b']' | b'{' | b'}'))
        && plain_as_it_is(s, scan)
}

/// The form of `s`, from `make` (serde-saphyr's text for it, or `None` when its layout is
/// not a single simple scalar), cached when `s` is short.
fn cached(
    cache: &mut HashMap<Box<str>, Form>,
    s: &str,
    make: impl FnOnce(&str) -> Option<String>,
) -> Form {
    let keep = s.len() <= MAX_CACHED_LEN;
    if keep && let Some(form) = cache.get(s) {
        return form.clone();
    }
    let form = match make(s) {
        // Literal blocks only; a folded one would be rewrapped for its column.
        Some(text) if text.contains('\n') && text.starts_with('|') => Form::Block(text.into()),
        Some(text) if text.contains('\n') => Form::Shape,
        Some(text) if text == s => Form::Same,
        Some(text) => Form::Other(text.into_boxed_str()),
        None => Form::Shape,
    };
    if keep {
        if cache.len() >= MAX_CACHED_FORMS {
            cache.clear();
        }
        cache.insert(s.into(), form.clone());
    }
    form
}

/// The skeleton of `value`'s shape: serde-saphyr's text of it with markers for its `holes`
/// scalars, or `None` when the markers do not read back one by one in place.
fn skeleton<T: Serialize>(value: &T, forms: &mut Forms, holes: usize) -> Option<Skeleton> {
    let mut walk = Walk::new(forms, true);
    value.serialize(&mut walk).ok()?;
    let replay = Replay {
        events: &walk.events,
        next: Cell::new(0),
        holes: Cell::new(0),
    };
    let text = direct(&Node(&replay)).ok()?;
    if replay.next.get() != walk.events.len() || replay.holes.get() != holes {
        return None;
    }
    Skeleton::parse(text, holes)
}

/// serde-saphyr's text of one shape, and where each scalar's text goes.
#[derive(Debug)]
struct Skeleton {
    text: String,
    holes: Vec<Hole>,
}

/// Where a scalar's text goes in a skeleton.
#[derive(Debug)]
struct Hole {
    /// The marker's byte range.
    start: usize,
    end: usize,
    /// The column of the key on the marker's line (a block scalar's lines are indented
    /// past it); `None` when the marker is not a map value after a simple key.
    key_column: Option<usize>,
}

impl Skeleton {
    fn parse(text: String, expected: usize) -> Option<Skeleton> {
        let mut holes = Vec::with_capacity(expected);
        let mut rest = 0;
        while let Some(found) = text[rest..].find(OPEN) {
            let start = rest + found;
            let digits_from = start + OPEN.len_utf8();
            let close = digits_from + text[digits_from..].find(CLOSE)?;
            let index: usize = text[digits_from..close].parse().ok()?;
            let end = close + CLOSE.len_utf8();
            // A marker must stand alone where a plain scalar does: after a space or a line
            // start, before a line end or a key's colon. Anything else (quotes around it)
            // means serde-saphyr did not write it as it is.
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            if index != holes.len()
                || !matches!(before, None | Some(' ' | '\n'))
                || !matches!(after, None | Some('\n' | ':'))
            {
                return None;
            }
            holes.push(Hole {
                start,
                end,
                key_column: key_column(&text[..start]),
            });
            rest = end;
        }
        (holes.len() == expected).then_some(Skeleton { text, holes })
    }

    /// The document whose scalars' texts are `texts`, the i-th ending at `ends[i]`; `None`
    /// when a block scalar falls where no key stands before it.
    fn fill(&self, texts: &str, ends: &[(usize, bool)]) -> Option<String> {
        let mut out = String::with_capacity(self.text.len() + texts.len() + texts.len() / 4);
        let mut at = 0;
        let mut from = 0;
        for (hole, &(to, block)) in self.holes.iter().zip(ends) {
            out.push_str(&self.text[at..hole.start]);
            let text = &texts[from..to];
            if block {
                indent_block(&mut out, text, hole.key_column?);
            } else {
                out.push_str(text);
            }
            from = to;
            at = hole.end;
        }
        out.push_str(&self.text[at..]);
        Some(out)
    }
}

/// The column of the key of a map value whose line, up to the value, is `before`'s last
/// line: the indentation and the dashes of the lists the map starts in, when a simple key
/// and `: ` follow them.
fn key_column(before: &str) -> Option<usize> {
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let bytes = line.as_bytes();
    let mut column = 0;
    loop {
        match bytes[column..] {
            [b' ', ..] => column += 1,
            [b'-', b' ', ..] => column += 2,
            _ => break,
        }
    }
    let key = &line[column..];
    (key.ends_with(": ") && !key.starts_with([':', '?'])).then_some(column)
}

/// A block scalar written for a key in the first column, written for a key at `column`:
/// the header as it is, every non-empty line indented `column` more.
fn indent_block(out: &mut String, block: &str, column: usize) {
    match block.split_once('\n') {
        Some((header, lines)) => {
            out.push_str(header);
            out.push('\n');
            super::indent_lines(out, lines, column);
        }
        None => out.push_str(block),
    }
}

mod walk;

use walk::{Node, Replay, Unshaped, Walk};

#[cfg(test)]
mod tests;
