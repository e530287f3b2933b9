//! The one AWS SDK configuration every process builds: the standard chain
//! (region, credentials, `AWS_ENDPOINT_URL` for an emulator), with timeouts
//! so a stalled dependency turns into a prompt error rather than a hung
//! request. The functions, the admin CLI and the dev stack all start here.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

/// The configuration of a function or of the admin CLI.
pub async fn sdk_config() -> SdkConfig {
    loader().load().await
}

/// The chain before it is loaded, for a caller that pins more (the dev
/// stack: its emulator's endpoint, region and test credentials).
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(default_timeouts())
}

pub fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}
