//! The serializer that walks a document for its shape ([`Walk`]), and the replay of a walk
//! for serde-saphyr with a marker in place of each hole ([`Node`]).

use std::cell::Cell;
use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap as _, SerializeSeq as _};

use super::{CLOSE, Forms, OPEN, Place, Text};

/// One step of a document's serialisation, as far as serde-saphyr's layout can tell.
#[derive(Debug)]
pub(super) enum Event {
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
pub(super) struct Walk<'f> {
    pub(super) forms: &'f mut Forms,
    pub(super) shape: Vec<u8>,
    pub(super) texts: String,
    /// Where each scalar's text ends in `texts`, and whether it is a block scalar.
    pub(super) ends: Vec<(usize, bool)>,
    pub(super) holes: usize,
    pub(super) events: Vec<Event>,
    pub(super) record: bool,
    pub(super) in_key: bool,
    /// The next value is a block map's value (where a block scalar can be a hole).
    pub(super) map_value: bool,
    /// For a [`Pattern`]: every hole's place and string.
    pub(super) slots: Option<Vec<(Place, String)>>,
}

/// Anything the walk does not model: the document is serialised directly instead.
#[derive(Debug)]
pub(super) struct Unshaped;

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
    pub(super) fn new(forms: &'f mut Forms, record: bool) -> Walk<'f> {
        let buffers = (
            Vec::with_capacity(1024),
            String::with_capacity(1024),
            Vec::with_capacity(64),
        );
        Walk::with_buffers(forms, record, buffers)
    }

    pub(super) fn with_buffers(
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
pub(super) struct Replay<'a> {
    pub(super) events: &'a [Event],
    pub(super) next: Cell<usize>,
    pub(super) holes: Cell<usize>,
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

pub(super) struct Node<'r, 'a>(pub(super) &'r Replay<'a>);

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
