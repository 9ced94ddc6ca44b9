//! Error codes: `error.code` of an error body, or `code` of a rejected mutation.

// Whole-request errors (an error body with a 4xx or 5xx status).
/// 400: the body is not JSON.
pub const MALFORMED_JSON: &str = "malformed_json";
/// 400: the body is JSON but not a valid request (missing field, wrong type, unknown op...).
pub const INVALID_REQUEST: &str = "invalid_request";
/// 400: the pull `cursor` is not one this server issued.
pub const INVALID_CURSOR: &str = "invalid_cursor";
/// 400: the pull `limit` is not a positive integer.
pub const INVALID_LIMIT: &str = "invalid_limit";
/// 400: a space id in a pull request is empty, too long, or has control characters. Also a
/// per-mutation rejection code (a mutation's `space`).
pub const INVALID_SPACE: &str = "invalid_space";
/// 413: more spaces in one pull than the server takes (`limits::MAX_PULL_SPACES`).
pub const TOO_MANY_SPACES: &str = "too_many_spaces";
/// 401: no `Authorization: Bearer` header.
pub const MISSING_TOKEN: &str = "missing_token";
/// 401: the token is not known.
pub const INVALID_TOKEN: &str = "invalid_token";
/// 401: the token was valid but has expired. A client asks for a fresh token and retries once.
pub const TOKEN_EXPIRED: &str = "token_expired";
/// 408: the request's head or body did not arrive in time.
pub const REQUEST_TIMEOUT: &str = "request_timeout";
/// 404: no such endpoint.
pub const NOT_FOUND: &str = "not_found";
/// 405: the endpoint does not take this method.
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
/// 413: the body is larger than the server takes.
pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
/// 413: more mutations than the server takes in one push.
pub const BATCH_TOO_LARGE: &str = "batch_too_large";
/// 413: the answer would carry more record data (conflicts' current records) than the server
/// sends at once; nothing was changed: split the batch.
pub const ANSWER_TOO_LARGE: &str = "answer_too_large";
/// 414: the request target (path and query) is longer than the server takes.
pub const URI_TOO_LONG: &str = "uri_too_long";
/// 415: a push body that is not `application/json`.
pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
/// 431: the request's head (request line and headers) is larger than the server takes.
pub const HEADERS_TOO_LARGE: &str = "headers_too_large";
/// 429: the server sheds load; retry after the `Retry-After` header's seconds.
pub const RATE_LIMITED: &str = "rate_limited";
/// 500: something failed on the server; nothing of the request was applied.
pub const INTERNAL: &str = "internal";
/// 503: the storage is busy or down; retry after the `Retry-After` header's seconds.
pub const UNAVAILABLE: &str = "unavailable";

// Blobs (`/v1/blobs/...`).
/// 400: a blob hash in the path is not 64 lowercase hex digits.
pub const INVALID_HASH: &str = "invalid_hash";
/// 404: this tenant has no complete blob with this hash (whether another tenant has one is
/// never told).
pub const BLOB_NOT_FOUND: &str = "blob_not_found";
/// 409: a chunk sent at an offset other than the bytes the server holds; the body's `offset`
/// says where to go on from.
pub const OFFSET_MISMATCH: &str = "offset_mismatch";
/// 409: a chunk declares another size than the upload it continues; the upload must be sent
/// with the size it started with.
pub const SIZE_MISMATCH: &str = "size_mismatch";
/// 422: the complete bytes do not hash to the blob's address; the server dropped them and the
/// upload starts over at 0.
pub const HASH_MISMATCH: &str = "hash_mismatch";
/// 413: a blob larger than the server takes (`--max-blob-bytes`). Also a per-mutation rejection
/// code (a reference to such a blob).
pub const BLOB_TOO_LARGE: &str = "blob_too_large";
/// 413: the tenant's blobs (stored and being uploaded) would pass its byte quota.
pub const QUOTA_EXCEEDED: &str = "quota_exceeded";
/// 416: a `Range` outside the blob.
pub const RANGE_NOT_SATISFIABLE: &str = "range_not_satisfiable";

// Per-mutation rejections (status "rejected" in a push result).
/// The collection name is empty, too long, or has control characters.
pub const INVALID_COLLECTION: &str = "invalid_collection";
/// The record id is empty, too long, or has control characters.
pub const INVALID_ID: &str = "invalid_id";
/// An upsert without `data`, a delete with `data`, or `data` that is not a JSON object.
pub const INVALID_DATA: &str = "invalid_data";
/// The `data` is larger than the server's record limit.
pub const DATA_TOO_LARGE: &str = "data_too_large";
/// A `{"$blob": …}` object in `data` that is not a valid reference (hash, size, media type).
pub const INVALID_BLOB_REF: &str = "invalid_blob_ref";
/// The data refers to a blob this tenant does not have (complete). Nothing was changed and the
/// answer is not stored: upload the blob, then send the same mutation again.
pub const BLOB_MISSING: &str = "blob_missing";
