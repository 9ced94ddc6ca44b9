//! A small [`Tree`] for the native tests: objects of fields, or leaves compared by text.

use super::tree::Tree;

#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Obj(Vec<(String, V)>),
    Arr(Vec<V>),
    Leaf(String),
}

impl Tree for V {
    fn fields(&self) -> Option<Vec<(String, V)>> {
        match self {
            V::Obj(f) => Some(f.clone()),
            V::Arr(_) | V::Leaf(_) => None,
        }
    }

    fn object(fields: Vec<(String, V)>) -> V {
        V::Obj(fields)
    }

    fn same(&self, other: &V) -> bool {
        match (self, other) {
            (V::Leaf(a), V::Leaf(b)) => a == b,
            (V::Arr(a), V::Arr(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)),
            (V::Obj(a), V::Obj(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| b.iter().find(|(k2, _)| k2 == k).is_some_and(|(_, w)| v.same(w)))
            }
            _ => false,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            V::Leaf(s) => Some(s.clone()),
            V::Obj(_) | V::Arr(_) => None,
        }
    }

    fn items(&self) -> Option<Vec<V>> {
        match self {
            V::Arr(items) => Some(items.clone()),
            V::Obj(_) | V::Leaf(_) => None,
        }
    }
}

pub fn leaf(s: &str) -> V {
    V::Leaf(s.into())
}

/// An object from `(field, value)` pairs.
pub fn obj(fields: &[(&str, V)]) -> V {
    V::Obj(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}
