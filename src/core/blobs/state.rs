//! Where each blob stored here stands with the server, and the rule that orders pushes after
//! uploads.

/// Whether the server has a blob stored here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    /// Not known to be there: it is uploaded before any change that refers to it is pushed.
    No,
    /// The server has it whole (uploaded from here, or pulled with a record).
    Yes,
    /// The server refused it for good (too large, over the quota, ...): the changes that refer
    /// to it are dead letters with this error.
    Failed { code: String, message: String },
}

impl Uploaded {
    /// The stored name: `"no"`, `"yes"`, `"failed"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Uploaded::No => "no",
            Uploaded::Yes => "yes",
            Uploaded::Failed { .. } => "failed",
        }
    }
}

/// A blob as the store keeps it beside the records (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobState {
    pub blob: crate::protocol::BlobRef,
    pub uploaded: Uploaded,
    /// The bytes are here (not only the reference of a pulled record).
    pub local: bool,
}

/// Whether a change whose record refers to the blobs `hashes` may be pushed: none of them is
/// waiting for its upload. `uploaded` tells what the store knows of a hash (`None`: no state,
/// as for a reference the app copied from a record it pulled: the server is the judge, and
/// answers `blob_missing` if it does not have it).
pub fn ready<'a>(hashes: impl IntoIterator<Item = &'a String>, uploaded: impl Fn(&str) -> Option<Uploaded>) -> bool {
    hashes.into_iter().all(|h| matches!(uploaded(h), None | Some(Uploaded::Yes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_waits_for_every_blob_it_refers_to() {
        let states = |h: &str| match h {
            "up" => Some(Uploaded::Yes),
            "queued" => Some(Uploaded::No),
            "refused" => Some(Uploaded::Failed { code: "quota_exceeded".into(), message: String::new() }),
            _ => None,
        };
        let s = |v: &[&str]| v.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        assert!(ready(&s(&[]), states));
        assert!(ready(&s(&["up", "unknown"]), states));
        assert!(!ready(&s(&["up", "queued"]), states));
        // A refused blob never goes up: its changes are dead letters, never pushed without it.
        assert!(!ready(&s(&["refused"]), states));
    }
}
