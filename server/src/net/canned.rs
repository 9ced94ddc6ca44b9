//! Whole HTTP answers written by the connection layer itself, outside any handler: the 408 of
//! a head that did not arrive in time, and the JSON versions of hyper's bare 400, 414 and 431.

use ferrysync::protocol::{codes, ErrorResponse};

/// A complete `HTTP/1.1` answer with the JSON error body, closing the connection.
pub fn answer(status: u16, reason: &str, code: &str, message: &str) -> Vec<u8> {
    let body = serde_json::to_string(&ErrorResponse::new(code, message)).unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         access-control-allow-origin: *\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn request_timeout() -> Vec<u8> {
    answer(408, "Request Timeout", codes::REQUEST_TIMEOUT, "the request head did not arrive in time")
}

/// The JSON answer to put in place of `written`, when `written` is one of hyper's own error
/// answers: a status line of 400, 414 or 431 and headers with `content-length: 0`, nothing
/// else. Every answer of the handlers has a JSON body, so none of them looks like that.
pub fn replace_bare_error(written: &[u8]) -> Option<Vec<u8>> {
    if written.len() > 512 || !written.starts_with(b"HTTP/1.1 ") || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(written).ok()?;
    if !head.to_ascii_lowercase().contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let answer = match head.get(9..12)? {
        "400" => answer(400, "Bad Request", codes::INVALID_REQUEST, "the request is not valid HTTP/1.1"),
        "414" => answer(414, "URI Too Long", codes::URI_TOO_LONG, "the request target is too long"),
        "431" => answer(
            431,
            "Request Header Fields Too Large",
            codes::HEADERS_TOO_LARGE,
            "the request head is too large (or has too many headers)",
        ),
        _ => return None,
    };
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_error_heads_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let json = String::from_utf8(replace_bare_error(bare).unwrap()).unwrap();
        assert!(json.starts_with("HTTP/1.1 431 "));
        assert!(json.ends_with(r#"{"error":{"code":"headers_too_large","message":"the request head is too large (or has too many headers)"}}"#));
        assert!(replace_bare_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(replace_bare_error(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replace_bare_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}").is_none());
    }
}
