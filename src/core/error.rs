//! The kinds of failure a caller can switch on. Each becomes a JS `Error` whose `name` is
//! [`ErrorKind::name`]; the message says what was wrong.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    UnknownCollection,
    UnknownIndex,
    RecordNotFound,
    RecordExists,
    InvalidRecord,
    ReservedField,
    InvalidQuery,
    InvalidOptions,
    QuotaExceeded,
    StorageUnavailable,
    UpgradeBlocked,
    DatabaseClosed,
    Migration,
    /// The sync server could not be reached, or failed in a way worth retrying (offline, a
    /// dropped connection, a timeout, 5xx, 429).
    Network,
    /// The sync server refused the request (a bad token, a malformed request) or answered
    /// something that is not the protocol.
    Sync,
    /// Any other storage failure; the message carries the browser's own error.
    Storage,
    /// A wipe or a database deletion would drop queued changes that never reached the server;
    /// the error counts them (`pending`), and nothing was changed.
    PendingChanges,
    /// A space was removed from the device's set while a caller waited for its first pull.
    SpaceRemoved,
    /// A blob's bytes are not on this device and could not be downloaded (offline, the server
    /// unreachable, or it does not give them).
    BlobNotDownloaded,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::UnknownCollection,
        ErrorKind::UnknownIndex,
        ErrorKind::RecordNotFound,
        ErrorKind::RecordExists,
        ErrorKind::InvalidRecord,
        ErrorKind::ReservedField,
        ErrorKind::InvalidQuery,
        ErrorKind::InvalidOptions,
        ErrorKind::QuotaExceeded,
        ErrorKind::StorageUnavailable,
        ErrorKind::UpgradeBlocked,
        ErrorKind::DatabaseClosed,
        ErrorKind::Migration,
        ErrorKind::Network,
        ErrorKind::Sync,
        ErrorKind::Storage,
        ErrorKind::PendingChanges,
        ErrorKind::SpaceRemoved,
        ErrorKind::BlobNotDownloaded,
    ];

    /// The JS `Error.name` of this kind (the `FerrysyncErrorName` union in the .d.ts).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::UnknownCollection => "UnknownCollectionError",
            ErrorKind::UnknownIndex => "UnknownIndexError",
            ErrorKind::RecordNotFound => "RecordNotFoundError",
            ErrorKind::RecordExists => "RecordExistsError",
            ErrorKind::InvalidRecord => "InvalidRecordError",
            ErrorKind::ReservedField => "ReservedFieldError",
            ErrorKind::InvalidQuery => "InvalidQueryError",
            ErrorKind::InvalidOptions => "InvalidOptionsError",
            ErrorKind::QuotaExceeded => "QuotaExceededError",
            ErrorKind::StorageUnavailable => "StorageUnavailableError",
            ErrorKind::UpgradeBlocked => "UpgradeBlockedError",
            ErrorKind::DatabaseClosed => "DatabaseClosedError",
            ErrorKind::Migration => "MigrationError",
            ErrorKind::Network => "NetworkError",
            ErrorKind::Sync => "SyncError",
            ErrorKind::Storage => "StorageError",
            ErrorKind::PendingChanges => "PendingChangesError",
            ErrorKind::SpaceRemoved => "SpaceRemovedError",
            ErrorKind::BlobNotDownloaded => "BlobNotDownloadedError",
        }
    }

    /// The kind a browser `DOMException` name maps to, when a storage request fails with it.
    /// `None` means the caller's context decides (usually [`ErrorKind::Storage`]).
    pub fn from_dom_exception(dom_name: &str) -> Option<ErrorKind> {
        match dom_name {
            "QuotaExceededError" => Some(ErrorKind::QuotaExceeded),
            // A value the structured clone algorithm cannot copy: a function, a symbol, a DOM node.
            "DataCloneError" => Some(ErrorKind::InvalidRecord),
            "ConstraintError" => Some(ErrorKind::RecordExists),
            "InvalidStateError" => Some(ErrorKind::DatabaseClosed),
            "UnknownError" | "SecurityError" => Some(ErrorKind::StorageUnavailable),
            _ => None,
        }
    }
}

/// A failure: its kind, a message for people, and the browser's DOMException when one caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub dom: Option<DomCause>,
    /// For [`ErrorKind::PendingChanges`]: how many queued changes would be lost.
    pub pending: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomCause {
    pub name: String,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), dom: None, pending: None }
    }

    /// `count` queued changes of `what` would be lost, and the caller did not say to drop them.
    pub fn pending_changes(count: u64, what: &str) -> Self {
        let message = format!(
            "{count} queued change{} of {what} never reached the server and would be lost; pass {{ discardPending: true }} to drop them",
            if count == 1 { "" } else { "s" }
        );
        Error { pending: Some(count), ..Error::new(ErrorKind::PendingChanges, message) }
    }

    /// A write (local, or of a pulled or settled version) would give a value that a unique index
    /// of `collection` already holds, in record `other`.
    pub fn unique_clash(collection: &str, index: &str, other: &str) -> Self {
        Error::new(
            ErrorKind::RecordExists,
            format!("writing to \"{collection}\": the unique index \"{index}\" already holds this value, in record \"{other}\""),
        )
    }

    /// An error caused by a browser DOMException; its name and message join ours.
    pub fn from_dom(context: &str, dom_name: &str, dom_message: &str, fallback: ErrorKind) -> Self {
        let kind = ErrorKind::from_dom_exception(dom_name).unwrap_or(fallback);
        Error {
            kind,
            message: format!("{context}: {dom_name}: {dom_message}"),
            dom: Some(DomCause { name: dom_name.to_string(), message: dom_message.to_string() }),
            pending: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_distinct_and_end_in_error() {
        let names: HashSet<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        assert!(names.iter().all(|n| n.ends_with("Error")));
    }

    #[test]
    fn dom_exceptions_map_to_kinds_and_keep_their_text() {
        let e = Error::from_dom("writing tasks", "QuotaExceededError", "disk full", ErrorKind::Storage);
        assert_eq!(e.kind, ErrorKind::QuotaExceeded);
        assert_eq!(e.message, "writing tasks: QuotaExceededError: disk full");
        assert_eq!(e.dom.as_ref().unwrap().name, "QuotaExceededError");
        let e = Error::from_dom("x", "DataCloneError", "function could not be cloned", ErrorKind::Storage);
        assert_eq!(e.kind, ErrorKind::InvalidRecord);
        let e = Error::from_dom("x", "AbortError", "aborted", ErrorKind::Storage);
        assert_eq!(e.kind, ErrorKind::Storage);
    }
}
