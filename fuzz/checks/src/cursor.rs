//! Listing cursors. A cursor decodes only for the scope (tenant and key
//! mode) and `status` filter that it was issued for, decodes to the position it was issued with, and
//! any edit of it is refused: the only cursors accepted are the exact
//! strings `encode` produces. A refusal is `400 INVALID_REQUEST`.
//!
//! Input, one field per line (so corpus files stay readable): tenant id,
//! status filter (a status name, anything else meaning "all"), position,
//! then a candidate cursor that a client might send. The key mode is the
//! tenant id's length's parity (odd: live), so both modes are exercised by
//! every corpus without changing its format.

use shared::ApiError;
use shared::cursor::{CursorCodec, MAX_CURSOR_LEN};
use shared::domain::{JobStatus, KeyMode, Scope};

use crate::contract::assert_client_error;

const SECRET: &[u8] = b"fuzz-cursor-secret";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One decoded input: who lists, with which filter, from where.
pub struct Listing<'a> {
    pub tenant_id: &'a str,
    pub status: Option<JobStatus>,
    pub position: &'a str,
    pub candidate: &'a str,
}

impl<'a> Listing<'a> {
    pub fn scope(&self) -> Scope<'a> {
        let mode = if self.tenant_id.len() % 2 == 1 {
            KeyMode::Live
        } else {
            KeyMode::Test
        };
        Scope::new(self.tenant_id, mode)
    }

    pub fn parse(text: &'a str) -> Listing<'a> {
        let mut fields = text.splitn(4, '\n');
        let mut next = || fields.next().unwrap_or("");
        Listing {
            tenant_id: next(),
            status: JobStatus::parse(next()),
            position: next(),
            candidate: next(),
        }
    }
}

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_listing(&Listing::parse(&text));
}

pub fn check_listing(listing: &Listing) {
    let codec = CursorCodec::new(SECRET);
    let issued = codec.encode(listing.scope(), listing.status, listing.position);
    if issued.len() <= MAX_CURSOR_LEN {
        assert_eq!(
            codec
                .decode(listing.scope(), listing.status, &issued)
                .as_deref(),
            Ok(listing.position),
            "an issued cursor does not round-trip"
        );
    }
    assert_refused_elsewhere(&codec, listing, &issued);
    assert_edits_refused(&codec, listing, &issued);
    assert_only_issued_cursors_decode(&codec, listing);
}

/// Another tenant, the other key mode, another filter or another service
/// secret: refused.
fn assert_refused_elsewhere(codec: &CursorCodec, listing: &Listing, issued: &str) {
    let scope = listing.scope();
    let other_tenant = format!("{}x", listing.tenant_id);
    assert!(
        codec
            .decode(
                Scope::new(&other_tenant, scope.mode),
                listing.status,
                issued
            )
            .is_err(),
        "another tenant's cursor decoded"
    );
    let other_mode = match scope.mode {
        KeyMode::Test => KeyMode::Live,
        KeyMode::Live => KeyMode::Test,
    };
    assert!(
        codec
            .decode(
                Scope::new(listing.tenant_id, other_mode),
                listing.status,
                issued
            )
            .is_err(),
        "the other mode's cursor decoded"
    );
    let other_filters = JobStatus::ALL.map(Some).into_iter().chain([None]);
    for status in other_filters.filter(|s| *s != listing.status) {
        assert!(
            codec.decode(scope, status, issued).is_err(),
            "cursor decoded under filter {status:?}"
        );
    }
    let other_secret = CursorCodec::new(b"another-secret".to_vec());
    assert!(
        other_secret.decode(scope, listing.status, issued).is_err(),
        "cursor decoded with another secret"
    );
}

/// Every one-character substitution (with a character that keeps it valid
/// base64url, the hardest edit to notice), every truncation and an
/// extension of an issued cursor are refused.
fn assert_edits_refused(codec: &CursorCodec, listing: &Listing, issued: &str) {
    let decode = |c: &str| codec.decode(listing.scope(), listing.status, c);
    for (i, original) in issued.bytes().enumerate() {
        let replacement = match BASE64URL.iter().position(|b| *b == original) {
            Some(p) => BASE64URL[(p + 1) % BASE64URL.len()],
            None => b'A',
        };
        let mut edited = issued.as_bytes().to_vec();
        edited[i] = replacement;
        let edited = String::from_utf8(edited).expect("ASCII stays UTF-8");
        assert!(
            decode(&edited).is_err(),
            "edited cursor {edited} decoded (from {issued})"
        );
        assert!(
            decode(&issued[..i]).is_err(),
            "truncated cursor {} decoded",
            &issued[..i]
        );
    }
    assert!(
        decode(&format!("{issued}A")).is_err(),
        "extended cursor decoded"
    );
}

/// Whatever a client sends: either exactly the cursor we would issue for
/// the position it decodes to, or a 400.
fn assert_only_issued_cursors_decode(codec: &CursorCodec, listing: &Listing) {
    match codec.decode(listing.scope(), listing.status, listing.candidate) {
        Ok(position) => assert_eq!(
            codec.encode(listing.scope(), listing.status, &position),
            listing.candidate,
            "a cursor we never issued was accepted"
        ),
        Err(e) => assert_client_error(&ApiError::from(e), 400, "INVALID_REQUEST"),
    }
}
