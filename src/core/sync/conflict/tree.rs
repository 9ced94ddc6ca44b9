//! Record data as the diff and the merge see it. The browser keeps records as JS values and the
//! simulation as JSON; each implements [`Tree`] over its own values, so the rules stay here and
//! only the three primitives below are the edge's.

/// A record's data, or a value inside it.
pub trait Tree: Clone {
    /// The fields of a plain object, in their order. `None` for anything else (arrays, dates,
    /// strings, numbers, null, …): such a value is compared and merged as a whole.
    fn fields(&self) -> Option<Vec<(String, Self)>>;

    /// A plain object with these fields.
    fn object(fields: Vec<(String, Self)>) -> Self;

    /// Deep equality: plain objects and arrays by content, anything else as the platform compares
    /// values.
    fn same(&self, other: &Self) -> bool;

    /// The value as a string, if it is one (a record's space field is read with it).
    fn text(&self) -> Option<String> {
        None
    }

    /// The value as a number, if it is one (a blob reference's size is read with it).
    fn number(&self) -> Option<f64> {
        None
    }

    /// The items of an array, if the value is one (blob references are looked for in them).
    fn items(&self) -> Option<Vec<Self>> {
        None
    }
}

/// Whether two optional values are the same (both absent, or both present and the same).
pub fn same<T: Tree>(a: Option<&T>, b: Option<&T>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same(b),
        _ => false,
    }
}

/// The value of `key` among `fields`.
pub fn field<'a, T>(fields: &'a [(String, T)], key: &str) -> Option<&'a T> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Every key of the given field lists once, in the order first seen.
pub fn keys<T>(lists: &[&[(String, T)]]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        for (k, _) in list.iter() {
            if !out.iter().any(|o| o == k) {
                out.push(k.clone());
            }
        }
    }
    out
}
