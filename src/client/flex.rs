//! Metadata values as a tree that keeps everything the server wrote, so that a read-modify-write
//! changes only the fields it means to. Restate writes its metadata with serde into flexbuffers;
//! a typed decoder would drop the fields it does not know (a newer server's), and re-encoding
//! through JSON would lose the difference between signed and unsigned numbers, blobs and
//! tuples. Re-encoding goes through the same serde calls Restate's own types make (a struct is a
//! string-keyed map, a tuple a fixed typed vector, a unit variant its name), so the server reads
//! the result as if it had written it.

use flexbuffers::{FlexBufferType as T, Reader};
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Serialize, Serializer};

/// Why a payload could not be read or written as a [`Flex`] tree.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlexError {
    #[error("not a flexbuffers payload: {0}")]
    Read(#[from] flexbuffers::ReaderError),
    #[error("unsupported flexbuffers type {0}")]
    Unsupported(String),
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
    /// Reads a flexbuffers payload.
    pub fn read(payload: &[u8]) -> Result<Flex, FlexError> {
        from_reader(&Reader::get_root(payload)?)
    }

    /// Writes it back as flexbuffers.
    pub fn write(&self) -> Result<Vec<u8>, FlexError> {
        flexbuffers::to_vec(self).map_err(|e| FlexError::Write(e.to_string()))
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

fn from_reader(r: &Reader<&[u8]>) -> Result<Flex, FlexError> {
    let fixed = |r: &Reader<&[u8]>| -> Result<Vec<Flex>, FlexError> {
        r.as_vector().iter().map(|x| from_reader(&x)).collect()
    };
    Ok(match r.flexbuffer_type() {
        T::Null => Flex::Null,
        T::Bool => Flex::Bool(r.as_bool()),
        T::Int | T::IndirectInt => Flex::Int(r.as_i64()),
        T::UInt | T::IndirectUInt => Flex::UInt(r.as_u64()),
        T::Float | T::IndirectFloat => Flex::Float(r.as_f64()),
        T::String | T::Key => Flex::Str(r.as_str().to_string()),
        T::Blob => Flex::Blob(r.as_blob().0.to_vec()),
        T::Map => {
            let m = r.as_map();
            let mut entries = Vec::with_capacity(m.len());
            for (k, v) in m.iter_keys().zip(m.iter_values()) {
                entries.push((k.to_string(), from_reader(&v)?));
            }
            Flex::Map(entries)
        }
        t if t.is_fixed_length_vector() => Flex::Tuple(fixed(r)?),
        t if t.is_vector() => Flex::Vec(fixed(r)?),
        t => return Err(FlexError::Unsupported(format!("{t:?}"))),
    })
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
