//! Serde adapters of the wire types.

use serde::de::{Deserialize, Deserializer};

/// A UUID as its hyphenated string, without needing uuid's own serde feature.
pub mod uuid_string {
    use serde::de::{self, Deserialize, Deserializer};
    use serde::ser::Serializer;
    use uuid::Uuid;

    pub fn serialize<S: Serializer>(id: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&id.hyphenated())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
        let s = String::deserialize(deserializer)?;
        Uuid::try_parse(&s).map_err(|_| de::Error::custom(format!("not a UUID: {s:?}")))
    }
}

/// An `Option` field that must be present (it may be null).
pub fn required_nullable<'de, De, T>(deserializer: De) -> Result<Option<T>, De::Error>
where
    De: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}
