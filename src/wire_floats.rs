//! `f32` vectors in serde as little-endian bytes (`#[serde(with = "crate::wire_floats")]`, and
//! [`nested`] for `Vec<Vec<f32>>`): in MessagePack, which carries the engine's replies to the
//! page, one `bin` of `4·n` bytes instead of `n` tagged numbers, so the page's thread copies a
//! pair's flows instead of decoding them number by number. Values are kept bit for bit (NaN
//! payloads included); a byte count that is not a multiple of 4 is an error.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `values` as `4·n` little-endian bytes.
pub fn serialize<S: Serializer>(values: &[f32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(&to_bytes(values))
}

/// The values of [`serialize`]'s bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
    let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
    from_bytes(&bytes).map_err(D::Error::custom)
}

/// `values` as `4·n` little-endian bytes (what [`serialize`] writes).
pub(crate) fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Result<Vec<f32>, String> {
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "{} bytes are not a whole number of f32 values",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `Vec<Vec<f32>>` as a sequence of byte strings.
pub mod nested {
    use super::*;

    struct Bytes<'a>(&'a [f32]);

    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }

    struct Floats(Vec<f32>);

    impl<'de> Deserialize<'de> for Floats {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            super::deserialize(deserializer).map(Floats)
        }
    }

    /// Each vector as [`super::serialize`] writes one.
    pub fn serialize<S: Serializer>(values: &[Vec<f32>], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|v| Bytes(v)))
    }

    /// The vectors of [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<f32>>, D::Error> {
        let all = Vec::<Floats>::deserialize(deserializer)?;
        Ok(all.into_iter().map(|f| f.0).collect())
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Message {
        #[serde(with = "super")]
        one: Vec<f32>,
        #[serde(with = "super::nested")]
        many: Vec<Vec<f32>>,
    }

    #[test]
    fn floats_cross_messagepack_as_bytes_bit_for_bit() {
        let odd = f32::from_bits(0x7fc0_1234); // a NaN with a payload
        let message = Message {
            one: vec![1.0, -0.0, f32::MIN_POSITIVE / 2.0, f32::INFINITY, odd],
            many: vec![vec![], vec![3.5], vec![1e-30, -2.25]],
        };
        let bytes = rmp_serde::to_vec(&message).expect("encode");
        // 5 values as one 20-byte bin (0xc4 0x14), not five tagged numbers.
        let bin = [0xc4u8, 20];
        assert!(bytes.windows(2).any(|w| w == bin), "{bytes:x?}");
        let back: Message = rmp_serde::from_slice(&bytes).expect("decode");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.one), bits(&message.one));
        assert_eq!(back.many.len(), 3);
        for (a, b) in back.many.iter().zip(&message.many) {
            assert_eq!(bits(a), bits(b));
        }
    }

    #[test]
    fn a_byte_count_that_is_not_whole_floats_is_an_error() {
        #[derive(serde::Serialize)]
        struct Raw {
            #[serde(with = "serde_bytes")]
            one: Vec<u8>,
            many: Vec<serde_bytes::ByteBuf>,
        }
        let raw = Raw {
            one: vec![0; 7],
            many: vec![],
        };
        let bytes = rmp_serde::to_vec(&raw).expect("encode");
        let err = rmp_serde::from_slice::<Message>(&bytes).expect_err("7 bytes");
        assert!(err.to_string().contains("7 bytes"), "{err}");
    }
}
