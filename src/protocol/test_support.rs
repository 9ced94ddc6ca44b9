//! What the protocol's tests share: a record type, a fixed mutation id, and JSON round trips
//! (serde_json is a dev-dependency only, so it never reaches the wasm).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod json {
    pub fn to_string<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Todo {
    pub title: String,
    pub done: bool,
}

pub fn todo(title: &str) -> Todo {
    Todo { title: title.to_string(), done: false }
}

pub const MID: &str = "0190f2a4-7c3e-7d4a-9b1e-2f3a4b5c6d7e";

pub fn mid() -> Uuid {
    Uuid::parse_str(MID).unwrap()
}

pub fn round_trip<T>(value: &T, expected: &str)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = json::to_string(value);
    assert_eq!(text, expected);
    let back: T = json::from_str(&text).unwrap();
    assert_eq!(&back, value);
}
