//! IndexedDB keys as the core compares them, and key ranges.
//!
//! The order is the one IndexedDB defines (Indexed Database API 3.0, "compare two keys"):
//! numbers < dates < strings < binary < arrays; numbers and dates by value, strings by UTF-16
//! code unit, binary by byte, arrays element by element (a prefix first). The edge reads a JS
//! key into a [`Key`]; the core never sees the JS value.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub enum Key {
    Number(f64),
    /// Milliseconds since the epoch.
    Date(f64),
    String(String),
    Binary(Vec<u8>),
    Array(Vec<Key>),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Number(_) => 0,
            Key::Date(_) => 1,
            Key::String(_) => 2,
            Key::Binary(_) => 3,
            Key::Array(_) => 4,
        }
    }
}

/// Strings by UTF-16 code unit, as JS and IndexedDB compare them (UTF-8 byte order differs for
/// characters above U+FFFF against U+E000..U+FFFF).
pub fn cmp_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Valid keys are never NaN; -0 and 0 are the same key.
            (Key::Number(a), Key::Number(b)) | (Key::Date(a), Key::Date(b)) => {
                a.partial_cmp(b).unwrap_or(Ordering::Equal)
            }
            (Key::String(a), Key::String(b)) => cmp_strings(a, b),
            (Key::Binary(a), Key::Binary(b)) => a.cmp(b),
            (Key::Array(a), Key::Array(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// One end of a range: the key, and whether the range is open there (excludes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub key: Key,
    pub open: bool,
}

/// A query's keys: `equals` is a closed range of one key; no bound is every key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyRange {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

impl KeyRange {
    pub fn only(key: Key) -> KeyRange {
        KeyRange { lower: Some(Bound { key: key.clone(), open: false }), upper: Some(Bound { key, open: false }) }
    }

    pub fn contains(&self, key: &Key) -> bool {
        let above = self.lower.as_ref().is_none_or(|b| match key.cmp(&b.key) {
            Ordering::Greater => true,
            Ordering::Equal => !b.open,
            Ordering::Less => false,
        });
        let below = self.upper.as_ref().is_none_or(|b| match key.cmp(&b.key) {
            Ordering::Less => true,
            Ordering::Equal => !b.open,
            Ordering::Greater => false,
        });
        above && below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Key {
        Key::String(v.into())
    }

    #[test]
    fn types_order_as_indexeddb_does() {
        let keys = [
            Key::Number(f64::NEG_INFINITY),
            Key::Number(-1.0),
            Key::Number(0.0),
            Key::Number(2.5),
            Key::Number(f64::INFINITY),
            Key::Date(-5.0),
            Key::Date(7.0),
            s(""),
            s("A"),
            s("a"),
            s("ab"),
            Key::Binary(vec![]),
            Key::Binary(vec![0]),
            Key::Binary(vec![0, 1]),
            Key::Binary(vec![1]),
            Key::Array(vec![]),
            Key::Array(vec![Key::Number(1.0)]),
            Key::Array(vec![Key::Number(1.0), s("a")]),
            Key::Array(vec![s("a")]),
            Key::Array(vec![Key::Array(vec![])]),
        ];
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(a.cmp(b), i.cmp(&j), "{a:?} against {b:?}");
            }
        }
        assert_eq!(Key::Number(-0.0), Key::Number(0.0));
    }

    #[test]
    fn strings_compare_by_utf16_code_unit() {
        // U+FF61 is one code unit; U+1F600 is a surrogate pair starting 0xD83D, below it.
        assert_eq!(s("\u{1F600}").cmp(&s("\u{FF61}")), Ordering::Less);
        assert_eq!(s("é").cmp(&s("z")), Ordering::Greater);
    }

    #[test]
    fn ranges() {
        let n = Key::Number;
        let r = KeyRange {
            lower: Some(Bound { key: n(1.0), open: true }),
            upper: Some(Bound { key: n(3.0), open: false }),
        };
        assert!(!r.contains(&n(1.0)) && r.contains(&n(2.0)) && r.contains(&n(3.0)) && !r.contains(&n(3.5)));
        assert!(!r.contains(&s("2")), "a string is above every number");
        assert!(KeyRange::default().contains(&s("x")));
        let only = KeyRange::only(n(7.0));
        assert!(only.contains(&n(7.0)) && !only.contains(&n(7.5)) && !only.contains(&Key::Date(7.0)));
    }
}
