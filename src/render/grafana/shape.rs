//! A dashboard context's shape key and values, read off the context as it is serialised.
//!
//! [`super::skeleton::shape_of`] reads them from the context's compact JSON text. This serializer
//! produces the same key and the same value tokens while walking the context, without
//! writing the whole text and scanning it again: the two passes were about a third of what a
//! service dashboard cost. Strings and numbers are still written by serde_json, one token at
//! a time, so every value token is the text serde_json writes for it. Anything the
//! serializer does not model (byte strings, enum variants with data, map keys that are not
//! strings) is refused, and the caller takes the text path; a test holds the two paths to
//! the same result on every service of the reference and of a generated platform.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Anything this walk does not model: the caller reads the shape from the JSON text.
#[derive(Debug)]
pub(super) struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not modelled by the dashboard shape walk")
    }
}

impl std::error::Error for Refused {}

impl ser::Error for Refused {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Refused
    }
}

/// What [`super::skeleton::shape_of`] would read from a context's JSON text.
pub(super) struct Shape {
    /// Structure, object keys, booleans, nulls and empty strings; `$` for each value.
    pub key: String,
    /// The value tokens as JSON text, one after another; token `i` ends at `ends[i]`.
    tokens: String,
    ends: Vec<usize>,
    /// The index of the top-level `links` list among the values (its token is empty: the
    /// caller writes the list itself).
    pub links: Option<usize>,
}

impl Shape {
    /// The shape of `value`, or `None` when it holds something this walk does not model.
    pub fn of<T: Serialize>(value: &T) -> Option<Shape> {
        let mut walk = Walk::default();
        value.serialize(&mut walk).ok()?;
        if !walk.firsts.is_empty() {
            return None;
        }
        Some(Shape {
            key: String::from_utf8(walk.key).ok()?,
            tokens: String::from_utf8(walk.tokens).ok()?,
            ends: walk.ends,
            links: walk.links,
        })
    }

    pub fn values(&self) -> Vec<&str> {
        let mut from = 0;
        self.ends
            .iter()
            .map(|&to| {
                let token = &self.tokens[from..to];
                from = to;
                token
            })
            .collect()
    }
}

#[derive(Default)]
struct Walk {
    key: Vec<u8>,
    tokens: Vec<u8>,
    ends: Vec<usize>,
    /// Nesting, counted as the text scan counts it: every object and list opened.
    depth: usize,
    /// Per open object or list: whether no member has been written yet.
    firsts: Vec<bool>,
    links: Option<usize>,
    /// The next string is an object key.
    in_key: bool,
}

type Result<T = ()> = std::result::Result<T, Refused>;

impl Walk {
    fn value_token(&mut self, write: impl FnOnce(&mut Vec<u8>) -> Result) -> Result {
        if self.in_key {
            return Err(Refused);
        }
        write(&mut self.tokens)?;
        self.key.push(b'$');
        self.ends.push(self.tokens.len());
        Ok(())
    }

    fn word(&mut self, word: &str) -> Result {
        if self.in_key {
            return Err(Refused);
        }
        self.key.extend_from_slice(word.as_bytes());
        Ok(())
    }

    fn open(&mut self, bracket: u8) -> Result<&mut Self> {
        if self.in_key {
            return Err(Refused);
        }
        self.key.push(bracket);
        self.depth += 1;
        self.firsts.push(true);
        Ok(self)
    }

    fn close(&mut self, bracket: u8) -> Result {
        self.firsts.pop().ok_or(Refused)?;
        self.depth = self.depth.checked_sub(1).ok_or(Refused)?;
        self.key.push(bracket);
        Ok(())
    }

    /// The comma before every member but the first.
    fn member(&mut self) -> Result {
        let first = self.firsts.last_mut().ok_or(Refused)?;
        if !std::mem::replace(first, false) {
            self.key.push(b',');
        }
        Ok(())
    }

    fn number(&mut self, v: impl fmt::Display) -> Result {
        self.value_token(|tokens| {
            use std::io::Write as _;
            write!(tokens, "{v}").map_err(|_| Refused)
        })
    }

    /// A float as serde_json writes it: a token, or `null` when it is not finite.
    fn float<F: Serialize>(&mut self, v: F) -> Result {
        let text = serde_json::to_string(&v).map_err(|_| Refused)?;
        if text == "null" {
            return self.word("null");
        }
        self.value_token(|tokens| {
            tokens.extend_from_slice(text.as_bytes());
            Ok(())
        })
    }

    /// An object member's key, `"name":`.
    fn field_key(&mut self, name: &str) -> Result {
        serde_json::to_writer(&mut self.key, name).map_err(|_| Refused)?;
        self.key.push(b':');
        Ok(())
    }
}

impl ser::Serializer for &mut Walk {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Impossible<(), Refused>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Refused>;

    fn serialize_bool(self, v: bool) -> Result {
        self.word(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.number(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.number(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.number(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.number(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.number(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.number(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.number(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.number(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.number(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.number(v)
    }
    fn serialize_f32(self, v: f32) -> Result {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result {
        if std::mem::take(&mut self.in_key) {
            return self.field_key(v);
        }
        // The text scan takes an empty string for shape, like a boolean.
        if v.is_empty() {
            return self.word("\"\"");
        }
        self.value_token(|tokens| serde_json::to_writer(tokens, v).map_err(|_| Refused))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Refused)
    }
    fn serialize_none(self) -> Result {
        self.word("null")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.word("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.word("null")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result {
        // serde_json's raw and arbitrary-precision values travel under names of this form.
        if name.starts_with("$serde_json") {
            return Err(Refused);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Refused)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self> {
        self.open(b'[')
    }
    fn serialize_tuple(self, _: usize) -> Result<Self> {
        self.open(b'[')
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self> {
        self.open(b'[')
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Refused)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self> {
        self.open(b'{')
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        self.open(b'{')
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Refused)
    }
}

impl ser::SerializeSeq for &mut Walk {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        self.member()?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeTuple for &mut Walk {
    type Ok = ();
    type Error = Refused;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeTupleStruct for &mut Walk {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeMap for &mut Walk {
    type Ok = ();
    type Error = Refused;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
        self.member()?;
        let at = self.key.len();
        self.in_key = true;
        key.serialize(&mut **self)?;
        // A key that is not a string (serde_json would quote a number) left the flag set.
        if std::mem::take(&mut self.in_key) {
            return Err(Refused);
        }
        // The text scan takes a top-level `links` list for one value; only a struct's is
        // modelled here.
        if self.depth == 1 && self.key[at..] == *b"\"links\":" {
            return Err(Refused);
        }
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close(b'}')
    }
}

impl ser::SerializeStruct for &mut Walk {
    type Ok = ();
    type Error = Refused;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, name: &'static str, value: &T) -> Result {
        self.member()?;
        if self.depth == 1 && name == super::skeleton::LINKS {
            // One value for the whole list, which the caller writes; the text scan does so
            // only when the value is a list.
            let mut list = Walk::default();
            value.serialize(&mut list)?;
            if list.key.first() != Some(&b'[') {
                return Err(Refused);
            }
            self.key.extend_from_slice(b"\"links\":$");
            self.links = Some(self.ends.len());
            self.ends.push(self.tokens.len());
            return Ok(());
        }
        self.field_key(name)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.close(b'}')
    }
}
