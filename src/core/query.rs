//! Query options: validation of the numbers a caller passes and the paging arithmetic.

use super::error::{Error, ErrorKind, Result};

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

/// A count or position from JS: a non-negative integer that fits in 32 bits.
pub fn non_negative_int(field: &str, value: f64) -> Result<u32> {
    if value.fract() == 0.0 && value >= 0.0 && value <= u32::MAX as f64 {
        Ok(value as u32)
    } else {
        Err(Error::new(
            ErrorKind::InvalidQuery,
            format!("`{field}` must be a non-negative integer, got {value}"),
        ))
    }
}

pub fn parse_order(value: &str) -> Result<Order> {
    match value {
        "asc" => Ok(Order::Asc),
        "desc" => Ok(Order::Desc),
        other => Err(Error::new(
            ErrorKind::InvalidQuery,
            format!("`order` must be \"asc\" or \"desc\", got \"{other}\""),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(non_negative_int("limit", 10.0).unwrap(), 10);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 5e10] {
            assert_eq!(non_negative_int("limit", bad).unwrap_err().kind, ErrorKind::InvalidQuery);
        }
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
