//! Metadata values as a tree that keeps everything the server wrote, so that a read-modify-write
//! changes only the fields it means to. Restate writes its metadata with serde into flexbuffers;
//! a typed decoder would drop the fields it does not know (a newer server's), and re-encoding
//! through JSON would lose the difference between signed and unsigned numbers, blobs and
//! tuples. Re-encoding goes through the same serde calls Restate's own types make (a struct is a
//! string-keyed map, a tuple a fixed typed vector, a unit variant its name), so the server reads
//! the result as if it had written it.

use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Serialize, Serializer};

/// Why a payload could not be read or written as a [`Flex`] tree.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlexError {
    #[error("not a flexbuffers payload: {0}")]
    Read(String),
    #[error("cannot encode it as flexbuffers: {0}")]
    Write(String),
}

/// One flexbuffers value, as the server wrote it.
#[derive(Clone, Debug, PartialEq)]
pub enum Flex {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Blob(Vec<u8>),
    /// A variable-length vector (a serde sequence).
    Vec(Vec<Flex>),
    /// A fixed-length typed vector (a serde tuple of 2 to 4 numbers).
    Tuple(Vec<Flex>),
    /// A string-keyed map (a serde struct or map), in the order written.
    Map(Vec<(String, Flex)>),
}

impl Flex {
    /// Reads a flexbuffers payload; any bytes give a value or an error.
    pub fn read(payload: &[u8]) -> Result<Flex, FlexError> {
        Flex::parse(payload).map_err(FlexError::Read)
    }

    fn parse(payload: &[u8]) -> Result<Flex, String> {
        // The root: its packed type and its width are the last two bytes, its slot before them.
        let &[.., packed, root_width] = payload else {
            return Err("the payload is too short to hold a flexbuffers value".into());
        };
        let root_width = match root_width {
            1 | 2 | 4 | 8 => usize::from(root_width),
            w => {
                return Err(format!(
                    "the root is {w} bytes wide (1, 2, 4 or 8 expected)"
                ))
            }
        };
        let at = (payload.len() - 2)
            .checked_sub(root_width)
            .ok_or("the payload is too short to hold a flexbuffers value")?;
        let mut parser = Parser {
            buf: payload,
            budget: payload.len().saturating_mul(64).saturating_add(4096),
        };
        parser.value(at, packed, root_width, 0)
    }

    /// The value as `serde_json` would deserialize it from flexbuffers: maps become objects,
    /// vectors and tuples arrays, a float that is not finite null. A blob has no JSON form.
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        use serde_json::Value;
        Ok(match self {
            Flex::Null => Value::Null,
            Flex::Bool(b) => Value::Bool(*b),
            Flex::Int(n) => Value::from(*n),
            Flex::UInt(n) => Value::from(*n),
            Flex::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Flex::Str(text) => Value::String(text.clone()),
            Flex::Blob(_) => return Err("a blob has no JSON form".into()),
            Flex::Vec(items) | Flex::Tuple(items) => {
                Value::Array(items.iter().map(Flex::to_json).collect::<Result<_, _>>()?)
            }
            Flex::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_json()?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Writes it back as flexbuffers.
    pub fn write(&self) -> Result<Vec<u8>, FlexError> {
        // The `flexbuffers` writer panics on a map with a key twice (and, in debug builds, on a
        // key with a zero byte): a payload read from a node may hold either.
        self.check_keys().map_err(FlexError::Write)?;
        flexbuffers::to_vec(self).map_err(|e| FlexError::Write(e.to_string()))
    }

    fn check_keys(&self) -> Result<(), String> {
        match self {
            Flex::Vec(items) | Flex::Tuple(items) => items.iter().try_for_each(Flex::check_keys),
            Flex::Map(entries) => {
                let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                keys.sort_unstable();
                if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
                    return Err(format!("a map has the key \"{}\" twice", w[0]));
                }
                if let Some(k) = keys.iter().find(|k| k.contains('\0')) {
                    return Err(format!("a map key has a zero byte: {k:?}"));
                }
                entries.iter().try_for_each(|(_, v)| v.check_keys())
            }
            _ => Ok(()),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Flex> {
        match self {
            Flex::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Flex> {
        match self {
            Flex::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` in a map (adding it when absent); false when this is not a map.
    pub fn set(&mut self, key: &str, value: Flex) -> bool {
        let Flex::Map(entries) = self else {
            return false;
        };
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => entries.push((key.to_string(), value)),
        }
        true
    }

    /// Removes `key` from a map; the value it had.
    pub fn remove(&mut self, key: &str) -> Option<Flex> {
        let Flex::Map(entries) = self else {
            return None;
        };
        let i = entries.iter().position(|(k, _)| k == key)?;
        Some(entries.remove(i).1)
    }

    pub fn items(&self) -> &[Flex] {
        match self {
            Flex::Vec(items) | Flex::Tuple(items) => items,
            _ => &[],
        }
    }

    pub fn items_mut(&mut self) -> Option<&mut Vec<Flex>> {
        match self {
            Flex::Vec(items) | Flex::Tuple(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Flex::UInt(n) => Some(*n),
            Flex::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Flex::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The most nested a value may be; Restate's metadata is a few levels deep.
const MAX_DEPTH: usize = 64;

// Flexbuffers type numbers (the high 6 bits of a packed type byte; the low 2 are a bit width).
const NULL: u8 = 0;
const INT: u8 = 1;
const UINT: u8 = 2;
const FLOAT: u8 = 3;
const KEY: u8 = 4;
const STRING: u8 = 5;
const INDIRECT_INT: u8 = 6;
const INDIRECT_UINT: u8 = 7;
const INDIRECT_FLOAT: u8 = 8;
const MAP: u8 = 9;
const VECTOR: u8 = 10;
const VECTOR_INT: u8 = 11;
const VECTOR_UINT: u8 = 12;
const VECTOR_FLOAT: u8 = 13;
const VECTOR_KEY: u8 = 14;
/// Deprecated in flexbuffers, still readable.
const VECTOR_STRING: u8 = 15;
/// 16..=24: fixed-length typed vectors, (int, uint, float) x (2, 3, 4).
const VECTOR_FIXED: std::ops::RangeInclusive<u8> = 16..=24;
const BLOB: u8 = 25;
const BOOL: u8 = 26;
const VECTOR_BOOL: u8 = 36;

/// A reader of flexbuffers that checks every offset, length and width against the payload, and
/// bounds nesting and expansion, so that any bytes give a value or an error. (The `flexbuffers`
/// crate's reader trusts its input: it indexes out of bounds, overflows adding lengths, and
/// recurses until the stack overflows on an offset that points back into its own vector.) Same
/// layout and rules as that reader, which is what Restate reads with.
struct Parser<'b> {
    buf: &'b [u8],
    /// Values and bytes still allowed: offsets may point many slots at one shared value, so a
    /// small payload could otherwise expand without bound.
    budget: usize,
}

type Parsed<T> = Result<T, String>;

fn width_of(packed: u8) -> usize {
    1 << (packed & 3)
}

impl<'b> Parser<'b> {
    fn out_of_bounds(&self, what: &str, at: usize) -> String {
        format!(
            "{what} at byte {at} lies outside the payload ({} bytes)",
            self.buf.len()
        )
    }

    fn spend(&mut self, amount: usize) -> Parsed<()> {
        self.budget = self.budget.checked_sub(amount).ok_or_else(|| {
            "the payload expands to too many values (offsets point at shared data too often)"
                .to_string()
        })?;
        Ok(())
    }

    fn bytes(&self, what: &str, at: usize, len: usize) -> Parsed<&'b [u8]> {
        at.checked_add(len)
            .and_then(|end| self.buf.get(at..end))
            .ok_or_else(|| self.out_of_bounds(what, at))
    }

    fn byte(&self, at: usize) -> Parsed<u8> {
        self.buf
            .get(at)
            .copied()
            .ok_or_else(|| self.out_of_bounds("a type", at))
    }

    fn uint(&self, at: usize, width: usize) -> Parsed<u64> {
        let mut le = [0u8; 8];
        le[..width].copy_from_slice(self.bytes("a number", at, width)?);
        Ok(u64::from_le_bytes(le))
    }

    fn int(&self, at: usize, width: usize) -> Parsed<i64> {
        let bits = 8 * u32::try_from(width).unwrap_or(8);
        let raw = self.uint(at, width)?;
        // Sign-extend from `bits`: shift the sign bit to the top, then back arithmetically.
        let shift = 64 - bits;
        Ok(((raw << shift) as i64) >> shift)
    }

    fn float(&self, at: usize, width: usize) -> Parsed<f64> {
        let raw = self.uint(at, width)?;
        match width {
            4 => Ok(f64::from(f32::from_bits(u32::try_from(raw).unwrap_or(0)))),
            8 => Ok(f64::from_bits(raw)),
            w => Err(format!("a float {w} bytes wide at byte {at}")),
        }
    }

    fn size(&self, what: &str, at: usize, width: usize) -> Parsed<usize> {
        usize::try_from(self.uint(at, width)?).map_err(|_| self.out_of_bounds(what, at))
    }

    /// The address an offset stored at `at` points back to.
    fn deref(&self, at: usize, width: usize) -> Parsed<usize> {
        let offset = self.size("an offset", at, width)?;
        at.checked_sub(offset)
            .ok_or_else(|| self.out_of_bounds("the target of an offset", at))
    }

    /// The length stored just before a vector, string or blob at `at`.
    fn length(&self, at: usize, width: usize) -> Parsed<usize> {
        let prefix = at
            .checked_sub(width)
            .ok_or_else(|| self.out_of_bounds("a length", at))?;
        self.size("a length", prefix, width)
    }

    fn text(&mut self, at: usize, len: usize) -> Parsed<String> {
        let bytes = self.bytes("a string", at, len)?;
        self.spend(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|e| format!("a string at byte {at}: {e}"))
    }

    fn key(&mut self, at: usize) -> Parsed<String> {
        let buf = self.buf;
        let rest = buf
            .get(at..)
            .ok_or_else(|| self.out_of_bounds("a key", at))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("the key at byte {at} has no terminating zero"))?;
        self.text(at, len)
    }

    /// `len` elements of `width` bytes at `at`, and (untyped) as many type bytes after them,
    /// all inside the payload.
    fn elements(&self, at: usize, len: usize, width: usize, typed: bool) -> Parsed<()> {
        let per = if typed { width } else { width + 1 };
        let total = len
            .checked_mul(per)
            .ok_or_else(|| self.out_of_bounds("a vector", at))?;
        self.bytes("a vector", at, total).map(|_| ())
    }

    /// The value in the slot at `at`, of packed type `packed`, in a parent `parent_width` wide.
    fn value(&mut self, at: usize, packed: u8, parent_width: usize, depth: usize) -> Parsed<Flex> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested deeper than {MAX_DEPTH}"));
        }
        self.spend(1)?;
        let (ty, width) = (packed >> 2, width_of(packed));
        // Scalars are stored in the slot itself; everything else at an offset back from it.
        let target = match ty {
            NULL | INT | UINT | FLOAT | BOOL => at,
            _ => self.deref(at, parent_width)?,
        };
        Ok(match ty {
            NULL => Flex::Null,
            BOOL => Flex::Bool(self.uint(target, width)? != 0),
            INT | INDIRECT_INT => Flex::Int(self.int(target, width)?),
            UINT | INDIRECT_UINT => Flex::UInt(self.uint(target, width)?),
            FLOAT | INDIRECT_FLOAT => Flex::Float(self.float(target, width)?),
            KEY => Flex::Str(self.key(target)?),
            STRING => {
                let len = self.length(target, width)?;
                Flex::Str(self.text(target, len)?)
            }
            BLOB => {
                let len = self.length(target, width)?;
                let blob = self.bytes("a blob", target, len)?.to_vec();
                self.spend(len)?;
                Flex::Blob(blob)
            }
            MAP => self.map(target, width, depth)?,
            VECTOR => {
                let len = self.length(target, width)?;
                self.elements(target, len, width, false)?;
                let types = target + len * width;
                let mut items = Vec::with_capacity(len);
                for i in 0..len {
                    let packed = self.byte(types + i)?;
                    items.push(self.value(target + i * width, packed, width, depth + 1)?);
                }
                Flex::Vec(items)
            }
            VECTOR_INT | VECTOR_UINT | VECTOR_FLOAT | VECTOR_KEY | VECTOR_STRING | VECTOR_BOOL => {
                let len = self.length(target, width)?;
                let element = match ty {
                    VECTOR_BOOL => BOOL,
                    other => other - VECTOR_INT + INT,
                };
                Flex::Vec(self.typed(target, len, element, width, depth)?)
            }
            t if VECTOR_FIXED.contains(&t) => {
                let offset = t - VECTOR_FIXED.start();
                let (element, len) = (INT + offset % 3, usize::from(2 + offset / 3));
                Flex::Tuple(self.typed(target, len, element, width, depth)?)
            }
            t => return Err(format!("unsupported flexbuffers type {t} at byte {at}")),
        })
    }

    /// A typed vector: `len` elements of type `element`, each `width` bytes wide.
    fn typed(
        &mut self,
        at: usize,
        len: usize,
        element: u8,
        width: usize,
        depth: usize,
    ) -> Parsed<Vec<Flex>> {
        self.elements(at, len, width, true)?;
        let packed = element << 2 | (width.trailing_zeros() as u8);
        (0..len)
            .map(|i| self.value(at + i * width, packed, width, depth + 1))
            .collect()
    }

    /// A map: a vector of values, with the offset and width of its (sorted) keys vector stored
    /// before its length.
    fn map(&mut self, at: usize, width: usize, depth: usize) -> Parsed<Flex> {
        let len = self.length(at, width)?;
        self.elements(at, len, width, false)?;
        let header = at
            .checked_sub(3 * width)
            .ok_or_else(|| self.out_of_bounds("a map's keys", at))?;
        let keys_width = match self.uint(header + width, width)? {
            w @ (1 | 2 | 4 | 8) => usize::try_from(w).unwrap_or(8),
            w => return Err(format!("a map's keys are {w} bytes wide at byte {at}")),
        };
        let keys = self.deref(header, width)?;
        let keys_len = self.length(keys, keys_width)?;
        if keys_len != len {
            return Err(format!(
                "the map at byte {at} has {len} values but {keys_len} keys"
            ));
        }
        self.elements(keys, len, keys_width, true)?;
        let types = at + len * width;
        let mut entries = Vec::with_capacity(len);
        for i in 0..len {
            let key = self.deref(keys + i * keys_width, keys_width)?;
            let key = self.key(key)?;
            let packed = self.byte(types + i)?;
            entries.push((key, self.value(at + i * width, packed, width, depth + 1)?));
        }
        Ok(Flex::Map(entries))
    }
}

impl Serialize for Flex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Flex::Null => s.serialize_unit(),
            Flex::Bool(b) => s.serialize_bool(*b),
            Flex::Int(n) => s.serialize_i64(*n),
            Flex::UInt(n) => s.serialize_u64(*n),
            Flex::Float(x) => s.serialize_f64(*x),
            Flex::Str(text) => s.serialize_str(text),
            Flex::Blob(bytes) => s.serialize_bytes(bytes),
            Flex::Vec(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for x in items {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Flex::Tuple(items) => {
                let mut tuple = s.serialize_tuple(items.len())?;
                for x in items {
                    tuple.serialize_element(x)?;
                }
                tuple.end()
            }
            Flex::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flexbuffers::Reader;

    #[derive(Serialize)]
    enum MaybeNode {
        Tombstone,
        Node(Box<Inner>),
    }

    #[derive(Serialize)]
    struct Inner {
        name: String,
        generation: (u32, u32),
        signed: i32,
        bytes: serde_bytes_like::Bytes,
    }

    /// serde's `serialize_bytes`, without another dependency.
    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[derive(Serialize)]
    struct Config {
        version: u64,
        nodes: Vec<(u32, MaybeNode)>,
        features: Vec<String>,
        missing: Option<u32>,
    }

    fn sample() -> Vec<u8> {
        flexbuffers::to_vec(Config {
            version: 7,
            nodes: vec![
                (1, MaybeNode::Tombstone),
                (
                    2,
                    MaybeNode::Node(Box::new(Inner {
                        name: "n2".into(),
                        generation: (2, 5),
                        signed: -3,
                        bytes: serde_bytes_like::Bytes(vec![1, 2, 3]),
                    })),
                ),
            ],
            features: vec!["a".into()],
            missing: None,
        })
        .unwrap()
    }

    /// What a serde decoder reads from a payload (the layout of the bytes may differ: a map
    /// read back lists its keys sorted).
    fn as_json(payload: &[u8]) -> serde_json::Value {
        use serde::Deserialize;
        serde_json::Value::deserialize(Reader::get_root(payload).unwrap()).unwrap()
    }

    #[test]
    fn a_value_written_back_unchanged_reads_the_same() {
        let bytes = sample();
        let tree = Flex::read(&bytes).unwrap();
        let written = tree.write().unwrap();
        assert_eq!(Flex::read(&written).unwrap(), tree);
        assert_ne!(tree.get("nodes"), None);
    }

    #[test]
    fn types_survive_a_round_trip() {
        let tree = Flex::read(&sample()).unwrap();
        let node = &tree.get("nodes").unwrap().items()[1].items()[1];
        let inner = node.get("Node").unwrap();
        assert_eq!(
            inner.get("generation"),
            Some(&Flex::Tuple(vec![Flex::UInt(2), Flex::UInt(5)]))
        );
        assert_eq!(inner.get("signed"), Some(&Flex::Int(-3)));
        assert_eq!(inner.get("bytes"), Some(&Flex::Blob(vec![1, 2, 3])));
        assert_eq!(
            tree.get("nodes").unwrap().items()[0].items()[1],
            Flex::Str("Tombstone".into())
        );
        assert_eq!(tree.get("missing"), Some(&Flex::Null));
    }

    #[test]
    fn an_edit_changes_only_what_it_touches() {
        let mut tree = Flex::read(&sample()).unwrap();
        tree.set("version", Flex::UInt(8));
        tree.get_mut("nodes").unwrap().items_mut().unwrap()[1]
            .items_mut()
            .unwrap()[1] = Flex::Str("Tombstone".into());
        let again = Flex::read(&tree.write().unwrap()).unwrap();
        assert_eq!(again.get("version"), Some(&Flex::UInt(8)));
        assert_eq!(again.get("features"), tree.get("features"));
        assert_eq!(again, tree);
    }

    #[test]
    fn bad_offsets_and_lengths_are_errors() {
        // A vector whose element points back at the vector itself: the `flexbuffers` reader
        // recursed until the stack overflowed (the process aborted).
        let cycle = [1, 0, 0x28, 2, 0x28, 1];
        assert!(Flex::read(&cycle)
            .unwrap_err()
            .to_string()
            .contains("nested deeper"));
        // A string whose length is u64::MAX: the `flexbuffers` reader overflowed adding it.
        let long = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x17, 1];
        assert!(Flex::read(&long)
            .unwrap_err()
            .to_string()
            .contains("outside the payload"));
        // A vector claiming more elements than the payload holds.
        let vector = [0xff, 0, 0x28, 1];
        assert!(Flex::read(&vector)
            .unwrap_err()
            .to_string()
            .contains("outside the payload"));
        // Six levels of vectors of 60 slots, each slot pointing at the vector below: a payload
        // of 730 bytes that expands to 60^6 values.
        let mut wide = Vec::new();
        let mut below = 0usize;
        for level in 0..6 {
            wide.push(60u8);
            let start = wide.len();
            for slot in start..start + 60 {
                wide.push(if level == 0 { 0 } else { (slot - below) as u8 });
            }
            wide.extend([if level == 0 { 0x08 } else { 0x28 }; 60]);
            below = start;
        }
        let root = wide.len();
        wide.extend([(root - below) as u8, 0x28, 1]);
        assert!(Flex::read(&wide)
            .unwrap_err()
            .to_string()
            .contains("too many values"));
        for (bytes, what) in [
            (&[][..], "too short"),
            (&[0, 1][..], "too short"),
            (&[0, 0, 3][..], "root is 3 bytes wide"),
            (&[0, 0x78, 1][..], "unsupported"),
        ] {
            assert!(
                Flex::read(bytes).unwrap_err().to_string().contains(what),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_map_with_a_key_twice_is_read_but_not_written() {
        let mut builder = flexbuffers::Builder::default();
        let mut map = builder.start_map();
        map.push("aa", 1u8);
        map.push("ab", 2u8);
        map.end_map();
        let mut payload = builder.view().to_vec();
        assert_eq!(&payload[..6], b"aa\0ab\0");
        payload[4] = b'a';
        let tree = Flex::read(&payload).unwrap();
        assert_eq!(
            tree,
            Flex::Map(vec![
                ("aa".into(), Flex::UInt(1)),
                ("aa".into(), Flex::UInt(2))
            ])
        );
        // The `flexbuffers` writer panicked on it.
        assert!(tree.write().unwrap_err().to_string().contains("twice"));
        let nul = Flex::Map(vec![("a\0b".into(), Flex::Null)]);
        assert!(Flex::Vec(vec![nul])
            .write()
            .unwrap_err()
            .to_string()
            .contains("zero byte"));
    }

    #[test]
    fn the_captured_nodes_configuration_round_trips() {
        let path = format!(
            "{}/tests/fixtures/nodes_config-1.7.12.bin",
            env!("CARGO_MANIFEST_DIR")
        );
        let framed = std::fs::read(&path).unwrap();
        let payload = &framed[5..];
        let tree = Flex::read(payload).unwrap();
        let written = tree.write().unwrap();
        assert_eq!(Flex::read(&written).unwrap(), tree);
        assert_eq!(as_json(&written), as_json(payload));
    }
}
