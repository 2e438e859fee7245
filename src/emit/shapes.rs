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
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap as _, SerializeSeq as _};

pub use serde_saphyr::SerializeError;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
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
        if cache.bypass {
            return direct(value);
        }
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
/// Skeletons made for [`SHARED`], kept or not.
static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many skeletons all threads have made, and how many shapes [`SHARED`] holds: with
/// every thread taking the others' skeletons, the two stay close.
#[doc(hidden)]
pub fn skeletons_made_and_shared() -> (usize, usize) {
    let shared = SHARED
        .lock()
        .map(|guard| guard.as_ref().map_or(0, |skeletons| skeletons.len()))
        .unwrap_or(0);
    (MADE.load(std::sync::atomic::Ordering::Relaxed), shared)
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
    MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

/// Runs `f` with every [`to_string`] of this thread serialising directly: tests compare
/// both paths on whole renders with it.
#[doc(hidden)]
pub fn bypassed<R>(f: impl FnOnce() -> R) -> R {
    let set = |on| CACHE.with(|c| c.borrow_mut().bypass = on);
    set(true);
    let result = f();
    set(false);
    result
}

/// Skeletons this thread keeps (shapes seen and usable).
#[doc(hidden)]
pub fn kept_skeletons() -> usize {
    CACHE.with(|c| c.borrow().shapes.values().filter(|s| s.is_some()).count())
}

#[derive(Default)]
struct Cache {
    bypass: bool,
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
/// depends on it (a multi-line list item), or anything [`to_string`] serialises directly,
/// and on a thread where [`bypassed`] is in effect.
pub fn pattern<T: Serialize>(value: &T) -> Option<Pattern> {
    CACHE.with(|cache| {
        let mut cache = cache.try_borrow_mut().ok()?;
        if cache.bypass {
            return None;
        }
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

/// One step of a document's serialisation, as far as serde-saphyr's layout can tell.
#[derive(Debug)]
enum Event {
    Map(Option<usize>),
    Seq(Option<usize>),
    End,
    Field(&'static str),
    /// A scalar written through the skeleton: a marker when replayed.
    Hole,
    Str(String),
    Bool(bool),
    F32(f32),
    F64(f64),
    Null,
}

/// The serializer that walks a document: its shape as bytes (compared, never read), the
/// texts of the scalars outside it, and, for making a skeleton, the events.
struct Walk<'f> {
    forms: &'f mut Forms,
    shape: Vec<u8>,
    texts: String,
    /// Where each scalar's text ends in `texts`, and whether it is a block scalar.
    ends: Vec<(usize, bool)>,
    holes: usize,
    events: Vec<Event>,
    record: bool,
    in_key: bool,
    /// The next value is a block map's value (where a block scalar can be a hole).
    map_value: bool,
    /// For a [`Pattern`]: every hole's place and string.
    slots: Option<Vec<(Place, String)>>,
}

/// Anything the walk does not model: the document is serialised directly instead. Also the
/// refusal of the dashboards' shape walk (`render::grafana::shape`).
#[derive(Debug)]
pub(crate) struct Unshaped;

impl fmt::Display for Unshaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not modelled by the shape walk")
    }
}

impl std::error::Error for Unshaped {}

impl ser::Error for Unshaped {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unshaped
    }
}

type WalkResult = Result<(), Unshaped>;

impl<'f> Walk<'f> {
    fn new(forms: &'f mut Forms, record: bool) -> Walk<'f> {
        let buffers = (
            Vec::with_capacity(1024),
            String::with_capacity(1024),
            Vec::with_capacity(64),
        );
        Walk::with_buffers(forms, record, buffers)
    }

    fn with_buffers(
        forms: &'f mut Forms,
        record: bool,
        (shape, texts, ends): (Vec<u8>, String, Vec<(usize, bool)>),
    ) -> Walk<'f> {
        Walk {
            forms,
            shape,
            texts,
            ends,
            holes: 0,
            events: Vec::new(),
            record,
            in_key: false,
            map_value: false,
            slots: None,
        }
    }

    fn event(&mut self, tag: u8, event: impl FnOnce() -> Event) {
        self.shape.push(tag);
        if self.record {
            self.events.push(event());
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.shape
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.shape.extend_from_slice(bytes);
    }

    fn len_hint(&mut self, len: Option<usize>) {
        let len = len.map_or(u64::MAX, |l| l as u64);
        self.shape.extend_from_slice(&len.to_le_bytes());
    }

    /// A scalar outside the shape, whose text has just been appended to `texts`.
    fn hole(&mut self, block: bool) {
        self.ends.push((self.texts.len(), block));
        self.holes += 1;
        self.event(b'h', || Event::Hole);
    }

    fn integer(&mut self, v: impl fmt::Display) -> WalkResult {
        if self.in_key || self.slots.is_some() {
            return Err(Unshaped);
        }
        write!(self.texts, "{v}").map_err(|_| Unshaped)?;
        self.hole(false);
        Ok(())
    }

    /// A scalar the walk keeps in the shape; never a map key.
    fn literal(&mut self, tag: u8, bytes: &[u8], event: impl FnOnce() -> Event) -> WalkResult {
        if self.in_key {
            return Err(Unshaped);
        }
        self.event(tag, event);
        self.bytes(bytes);
        Ok(())
    }

    fn nested(&mut self, name: &'static str) -> WalkResult {
        // serde-saphyr's wrapper types (flow style, quoting, anchors, comments) are names
        // of this form; their layout is not modelled here.
        if name.starts_with("__yaml") || self.in_key {
            return Err(Unshaped);
        }
        Ok(())
    }
}

impl<'a, 'f> ser::Serializer for &'a mut Walk<'f> {
    type Ok = ();
    type Error = Unshaped;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Impossible<(), Unshaped>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Unshaped>;

    fn serialize_bool(self, v: bool) -> WalkResult {
        self.literal(if v { b't' } else { b'f' }, &[], || Event::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> WalkResult {
        self.integer(v)
    }
    fn serialize_i16(self, v: i16) -> WalkResult {
        self.integer(v)
    }
    fn serialize_i32(self, v: i32) -> WalkResult {
        self.integer(v)
    }
    fn serialize_i64(self, v: i64) -> WalkResult {
        self.integer(v)
    }
    fn serialize_i128(self, v: i128) -> WalkResult {
        self.integer(v)
    }
    fn serialize_u8(self, v: u8) -> WalkResult {
        self.integer(v)
    }
    fn serialize_u16(self, v: u16) -> WalkResult {
        self.integer(v)
    }
    fn serialize_u32(self, v: u32) -> WalkResult {
        self.integer(v)
    }
    fn serialize_u64(self, v: u64) -> WalkResult {
        self.integer(v)
    }
    fn serialize_u128(self, v: u128) -> WalkResult {
        self.integer(v)
    }
    fn serialize_f32(self, v: f32) -> WalkResult {
        self.literal(b'e', &v.to_bits().to_le_bytes(), || Event::F32(v))
    }
    fn serialize_f64(self, v: f64) -> WalkResult {
        self.literal(b'd', &v.to_bits().to_le_bytes(), || Event::F64(v))
    }
    fn serialize_char(self, v: char) -> WalkResult {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> WalkResult {
        let place = if std::mem::take(&mut self.in_key) {
            Place::Key
        } else if self.map_value {
            Place::MapValue
        } else {
            Place::Item
        };
        let (text, multiline) = self.forms.text(v, place, &mut self.texts)?;
        if multiline && place == Place::MapValue {
            self.map_value = false;
        }
        match text {
            Text::Hole { block } => {
                if let Some(slots) = &mut self.slots {
                    slots.push((place, v.to_string()));
                }
                self.hole(block);
            }
            // A pattern cannot put another string there.
            Text::Shape if self.slots.is_some() => return Err(Unshaped),
            Text::Shape => {
                self.event(b's', || Event::Str(v.to_string()));
                self.bytes(v.as_bytes());
            }
        }
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> WalkResult {
        Err(Unshaped)
    }
    fn serialize_none(self) -> WalkResult {
        self.literal(b'n', &[], || Event::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> WalkResult {
        value.serialize(self)
    }
    fn serialize_unit(self) -> WalkResult {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> WalkResult {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> WalkResult {
        // serde-saphyr writes a unit variant as the string of its name (as a value; keys
        // have their own rules).
        if self.in_key {
            return Err(Unshaped);
        }
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> WalkResult {
        self.nested(name)?;
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> WalkResult {
        Err(Unshaped)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Unshaped> {
        if self.in_key {
            return Err(Unshaped);
        }
        self.map_value = false;
        self.event(b'[', || Event::Seq(len));
        self.len_hint(len);
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, Unshaped> {
        // A tuple's items do not clear the map-value state, so a pattern's places could
        // depend on its strings.
        if self.slots.is_some() {
            return Err(Unshaped);
        }
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self, Unshaped> {
        self.nested(name)?;
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unshaped> {
        Err(Unshaped)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Unshaped> {
        if self.in_key {
            return Err(Unshaped);
        }
        self.map_value = false;
        self.event(b'{', || Event::Map(len));
        self.len_hint(len);
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Self, Unshaped> {
        // serde-saphyr writes a struct as the map of its fields.
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unshaped> {
        Err(Unshaped)
    }
}

impl Walk<'_> {
    fn end(&mut self) -> WalkResult {
        self.event(b']', || Event::End);
        Ok(())
    }
}

impl ser::SerializeSeq for &mut Walk<'_> {
    type Ok = ();
    type Error = Unshaped;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> WalkResult {
        self.map_value = false;
        value.serialize(&mut **self)
    }
    fn end(self) -> WalkResult {
        Walk::end(self)
    }
}

impl ser::SerializeTuple for &mut Walk<'_> {
    type Ok = ();
    type Error = Unshaped;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> WalkResult {
        value.serialize(&mut **self)
    }
    fn end(self) -> WalkResult {
        Walk::end(self)
    }
}

impl ser::SerializeTupleStruct for &mut Walk<'_> {
    type Ok = ();
    type Error = Unshaped;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> WalkResult {
        value.serialize(&mut **self)
    }
    fn end(self) -> WalkResult {
        Walk::end(self)
    }
}

impl ser::SerializeMap for &mut Walk<'_> {
    type Ok = ();
    type Error = Unshaped;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> WalkResult {
        self.map_value = false;
        self.in_key = true;
        key.serialize(&mut **self)?;
        // A key that consumed the flag was a string; anything else is refused above.
        if std::mem::take(&mut self.in_key) {
            return Err(Unshaped);
        }
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> WalkResult {
        self.map_value = true;
        let result = value.serialize(&mut **self);
        self.map_value = false;
        result
    }
    fn end(self) -> WalkResult {
        Walk::end(self)
    }
}

impl ser::SerializeStruct for &mut Walk<'_> {
    type Ok = ();
    type Error = Unshaped;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> WalkResult {
        self.event(b'k', || Event::Field(key));
        self.bytes(key.as_bytes());
        self.map_value = true;
        let result = value.serialize(&mut **self);
        self.map_value = false;
        result
    }
    fn end(self) -> WalkResult {
        Walk::end(self)
    }
}

/// The recorded events, serialised again for serde-saphyr with a marker for each hole.
struct Replay<'a> {
    events: &'a [Event],
    next: Cell<usize>,
    holes: Cell<usize>,
}

impl Replay<'_> {
    fn take(&self) -> Option<&Event> {
        let event = self.events.get(self.next.get());
        self.next.set(self.next.get() + 1);
        event
    }

    /// Consumes the `End` of a map or list when it is next.
    fn at_end(&self) -> bool {
        let end = matches!(self.events.get(self.next.get()), Some(Event::End) | None);
        if end {
            self.next.set(self.next.get() + 1);
        }
        end
    }
}

struct Node<'r, 'a>(&'r Replay<'a>);

impl Serialize for Node<'_, '_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let replay = self.0;
        match replay.take() {
            Some(Event::Map(len)) => {
                let mut map = s.serialize_map(*len)?;
                while !replay.at_end() {
                    map.serialize_key(&Node(replay))?;
                    map.serialize_value(&Node(replay))?;
                }
                map.end()
            }
            Some(Event::Seq(len)) => {
                let mut seq = s.serialize_seq(*len)?;
                while !replay.at_end() {
                    seq.serialize_element(&Node(replay))?;
                }
                seq.end()
            }
            Some(Event::Field(name)) => s.serialize_str(name),
            Some(Event::Hole) => {
                let index = replay.holes.get();
                replay.holes.set(index + 1);
                s.serialize_str(&format!("{OPEN}{index}{CLOSE}"))
            }
            Some(Event::Str(text)) => s.serialize_str(text),
            Some(Event::Bool(v)) => s.serialize_bool(*v),
            Some(Event::F32(v)) => s.serialize_f32(*v),
            Some(Event::F64(v)) => s.serialize_f64(*v),
            Some(Event::Null) => s.serialize_unit(),
            Some(Event::End) | None => Err(ser::Error::custom("unbalanced shape events")),
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert!(
            matches!(forms.value("on", Scan::of("on")), super::Form::Other(t) if &*t == "\"on\"")
        );
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
        assert!(super::bypassed(|| super::pattern(&["a"])).is_none());
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
                let nested =
                    BTreeMap::from([("groups", vec![BTreeMap::from([("rules", &value)])])]);
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
}
