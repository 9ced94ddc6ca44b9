//! Query options: validation of the numbers a caller passes and the paging arithmetic.

use super::error::{Error, ErrorKind, Result};

pub mod key;
pub mod live;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// The shape of a query once its JS options are read; key values stay on the JS side.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuerySpec {
    pub index: Option<String>,
    pub order: Order,
    pub limit: Option<u32>,
    pub offset: u32,
    pub include_deleted: bool,
}

/// A JS number as text for an error message, without pulling Rust's float formatting (about
/// 15 KB of wasm) into the build: integers exactly, other values to three decimals.
pub fn number_text(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        return (value as i64).to_string();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let v = value.abs();
    if v >= 9.0e15 {
        return format!("{sign}a number beyond 2^53");
    }
    let thousandths = (v * 1000.0).round() as i64;
    let text = format!("{sign}{}.{:03}", thousandths / 1000, thousandths % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A count or position from JS: a non-negative integer that fits in 32 bits.
pub fn non_negative_int(field: &str, value: f64) -> Result<u32> {
    if value.fract() == 0.0 && value >= 0.0 && value <= u32::MAX as f64 {
        Ok(value as u32)
    } else {
        Err(Error::new(
            ErrorKind::InvalidQuery,
            format!("`{field}` must be a non-negative integer, got {}", number_text(value)),
        ))
    }
}

pub fn parse_order(value: &str) -> Result<Order> {
    match value {
        "asc" => Ok(Order::Asc),
        "desc" => Ok(Order::Desc),
        other => {
            Err(Error::new(ErrorKind::InvalidQuery, format!("`order` must be \"asc\" or \"desc\", got \"{other}\"")))
        }
    }
}

impl QuerySpec {
    /// How many rows to ask IndexedDB for to serve `offset + limit` (None: all of them).
    pub fn fetch_count(&self) -> Option<u32> {
        self.limit.map(|l| l.saturating_add(self.offset))
    }

    /// Whether results must be filtered for tombstones: only when walking ids, since a
    /// tombstone keeps no user fields and so appears in no user index.
    pub fn filters_tombstones(&self) -> bool {
        !self.include_deleted && self.index.is_none()
    }
}

/// The fields a query object may have.
pub const QUERY_FIELDS: [&str; 7] = ["index", "equals", "range", "order", "limit", "offset", "includeDeleted"];

/// Refuses a field a query does not have (a misspelt `limt`, or a `where` from another
/// library): ignoring it would silently answer a different question.
pub fn check_query_fields<'a>(fields: impl IntoIterator<Item = &'a str>) -> Result<()> {
    for field in fields {
        if !QUERY_FIELDS.contains(&field) {
            return Err(Error::new(
                ErrorKind::InvalidQuery,
                format!("a query has no field \"{field}\" (known: {})", QUERY_FIELDS.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_query_fields_are_refused() {
        assert!(check_query_fields(["index", "equals", "limit"]).is_ok());
        let e = check_query_fields(["index", "where"]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidQuery);
        assert!(e.message.contains("\"where\""), "{}", e.message);
    }

    #[test]
    fn numbers() {
        assert_eq!(non_negative_int("limit", 10.0).unwrap(), 10);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 5e10] {
            assert_eq!(non_negative_int("limit", bad).unwrap_err().kind, ErrorKind::InvalidQuery);
        }
    }

    #[test]
    fn numbers_as_text() {
        assert_eq!(number_text(42.0), "42");
        assert_eq!(number_text(-1.0), "-1");
        assert_eq!(number_text(1.5), "1.5");
        assert_eq!(number_text(0.1234), "0.123");
        assert_eq!(number_text(f64::NAN), "NaN");
        assert_eq!(number_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(number_text(5e10), "50000000000");
        assert_eq!(number_text(-1e300), "-a number beyond 2^53");
    }

    #[test]
    fn orders() {
        assert_eq!(parse_order("desc").unwrap(), Order::Desc);
        assert!(parse_order("up").is_err());
    }

    #[test]
    fn paging() {
        let q = QuerySpec { limit: Some(10), offset: 5, ..Default::default() };
        assert_eq!(q.fetch_count(), Some(15));
        assert_eq!(QuerySpec::default().fetch_count(), None);
        assert!(QuerySpec::default().filters_tombstones());
        assert!(!QuerySpec { index: Some("done".into()), ..Default::default() }.filters_tombstones());
    }
}
