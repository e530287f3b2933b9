//! Listing cursors: opaque to clients, bound to the scope (tenant and key
//! mode) and the `status` filter that produced them, and tamper-evident. A
//! cursor carries only the position (`createdAt#jobId` of the last item on
//! the page) plus an HMAC over tenant, mode, filter and position, so a
//! cursor edited by hand, replayed by another tenant or the other mode, or
//! used with another filter is refused with 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::{JobStatus, Scope};

const VERSION: &str = "v1";
const TAG_BYTES: usize = 16;
pub const MAX_CURSOR_LEN: usize = 512;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Query parameter `cursor` is not a cursor issued for this listing")]
pub struct InvalidCursor;

/// Signs and checks cursors with the service's cursor secret.
#[derive(Clone)]
pub struct CursorCodec {
    secret: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(..)")
    }
}

impl CursorCodec {
    pub fn new(secret: impl Into<Vec<u8>>) -> CursorCodec {
        CursorCodec {
            secret: secret.into(),
        }
    }

    fn tag(&self, scope: Scope<'_>, status: Option<JobStatus>, position: &str) -> [u8; TAG_BYTES] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC accepts keys of any length");
        for part in [
            VERSION,
            scope.tenant_id,
            scope.mode.as_str(),
            status.map_or("*", JobStatus::as_str),
            position,
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    pub fn encode(&self, scope: Scope<'_>, status: Option<JobStatus>, position: &str) -> String {
        let tag = self.tag(scope, status, position);
        format!(
            "{VERSION}.{}.{}",
            URL_SAFE_NO_PAD.encode(position),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The position a cursor points at, if this scope and filter issued it.
    pub fn decode(
        &self,
        scope: Scope<'_>,
        status: Option<JobStatus>,
        cursor: &str,
    ) -> Result<String, InvalidCursor> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(InvalidCursor);
        }
        let mut parts = cursor.split('.');
        let (Some(VERSION), Some(pos), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        let position = URL_SAFE_NO_PAD
            .decode(pos)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidCursor)?;
        let expected = self.tag(scope, status, &position);
        // Constant-time comparison: no timing oracle for forging tags.
        if tag.len() != TAG_BYTES
            || tag
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return Err(InvalidCursor);
        }
        Ok(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyMode;

    fn test(tenant: &str) -> Scope<'_> {
        Scope::new(tenant, KeyMode::Test)
    }

    #[test]
    fn round_trips_for_the_same_tenant_and_filter() {
        let c = CursorCodec::new(b"secret".to_vec());
        let pos = "2026-01-26T09:36:16.288Z#cmkuz35wf00034rk15ycgzvce";
        let cur = c.encode(test("t1"), Some(JobStatus::Queued), pos);
        assert_eq!(
            c.decode(test("t1"), Some(JobStatus::Queued), &cur).unwrap(),
            pos
        );
        let all = c.encode(test("t1"), None, pos);
        assert_eq!(c.decode(test("t1"), None, &all).unwrap(), pos);
    }

    #[test]
    fn refuses_other_tenant_filter_secret_or_edits() {
        let c = CursorCodec::new(b"secret".to_vec());
        let pos = "2026-01-26T09:36:16.288Z#cmkuz35wf00034rk15ycgzvce";
        let cur = c.encode(test("t1"), None, pos);
        assert_eq!(c.decode(test("t2"), None, &cur), Err(InvalidCursor));
        assert_eq!(
            c.decode(Scope::new("t1", KeyMode::Live), None, &cur),
            Err(InvalidCursor),
            "a test-mode cursor is not one of the live listing"
        );
        assert_eq!(
            c.decode(test("t1"), Some(JobStatus::Failed), &cur),
            Err(InvalidCursor)
        );
        assert_eq!(
            CursorCodec::new(b"other".to_vec()).decode(test("t1"), None, &cur),
            Err(InvalidCursor)
        );
        let forged = c.encode(
            test("t1"),
            None,
            "2030-01-01T00:00:00.000Z#cmkuz35wf00034rk15ycgzvce",
        );
        let mut parts: Vec<&str> = cur.split('.').collect();
        let forged_pos = forged.split('.').nth(1).unwrap();
        parts[1] = forged_pos;
        assert_eq!(
            c.decode(test("t1"), None, &parts.join(".")),
            Err(InvalidCursor)
        );
        for junk in ["", "v1", "v1..", "abc", "v2.a.b", &"x".repeat(600)] {
            assert_eq!(
                c.decode(test("t1"), None, junk),
                Err(InvalidCursor),
                "{junk}"
            );
        }
    }
}
