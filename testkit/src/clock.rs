//! The wall clock as tests meet it: rate windows are per clock minute, so a
//! test that counts requests in one window starts well inside a minute.

use std::time::Duration;

/// Waits, if needed, so that the next few seconds stay within one clock
/// minute: rate windows are per minute.
pub async fn away_from_minute_boundary(needed: Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    let into_minute = Duration::from_millis((now.as_millis() % 60_000) as u64);
    if into_minute + needed > Duration::from_secs(59) {
        tokio::time::sleep(Duration::from_secs(60) - into_minute + Duration::from_millis(200))
            .await;
    }
}
