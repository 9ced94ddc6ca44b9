//! A blob's address: the SHA-256 of its bytes, fed chunk by chunk as they are read, so that a
//! file of hundreds of MB is hashed without being held in memory at once.

use sha2::{Digest, Sha256};

/// An incremental SHA-256 whose result is written as the protocol writes addresses.
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
    bytes: u64,
}

impl Hasher {
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Adds the next bytes.
    pub fn update(&mut self, chunk: &[u8]) {
        self.inner.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// How many bytes were added so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The address of everything added: 64 lowercase hex digits.
    pub fn finish(self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.inner.finalize();
        let mut out = String::with_capacity(64);
        for b in digest.iter() {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
        out
    }
}

/// The address of `bytes`, in one go.
pub fn hash_of(bytes: &[u8]) -> String {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::blobs::is_hash;

    // The test vectors of FIPS 180-2 (appendix B) and NIST's SHA-256 examples.
    const VECTORS: [(&str, &str); 3] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];

    #[test]
    fn known_vectors() {
        for (text, hex) in VECTORS {
            assert_eq!(hash_of(text.as_bytes()), hex);
            assert!(is_hash(hex));
        }
    }

    #[test]
    fn a_million_a_in_uneven_chunks_is_the_same_as_in_one() {
        // FIPS 180-2 B.3: one million "a".
        const MILLION_A: &str = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
        let bytes = vec![b'a'; 1_000_000];
        assert_eq!(hash_of(&bytes), MILLION_A);
        let mut h = Hasher::new();
        let mut rest = &bytes[..];
        // Chunk sizes that cross the 64-byte block boundary every way.
        for size in [1usize, 63, 64, 65, 4095, 65_536, 7].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            h.update(chunk);
            rest = tail;
        }
        assert_eq!(h.len(), 1_000_000);
        assert_eq!(h.finish(), MILLION_A);
    }
}
