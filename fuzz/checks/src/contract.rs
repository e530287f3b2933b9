//! What every refusal of client input must look like: the contract's 4xx
//! status and code, and a message that fits on one line (input is echoed
//! through `printable`, so a hostile value cannot forge log or header lines).

use shared::ApiError;

/// Panics unless `err` is answered with `status` and `code`, with a
/// non-empty one-line message.
pub fn assert_client_error(err: &ApiError, status: u16, code: &str) {
    assert_eq!(err.status(), status, "{err:?} must be a {status}");
    assert_eq!(err.code(), code, "{err:?}");
    let message = err.public_message();
    assert!(!message.is_empty(), "{err:?} has no message");
    assert!(
        !message.chars().any(char::is_control),
        "the message of {err:?} is not one printable line"
    );
}
