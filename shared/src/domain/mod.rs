//! The domain: jobs, their state machine, tenants, API keys and the
//! validation of a submit request. Pure data and rules, no I/O, so every rule
//! here is unit-tested without AWS.

pub mod api_key;
pub mod job;
pub mod options;
pub mod scope;
pub mod submit;
pub mod tenant;
pub mod usage;

pub use api_key::{ApiKeyHash, KeyMode};
pub use job::{AspectRatio, FailureCode, Job, JobError, JobStatus, Mode, Transition};
pub use options::{GenerationOptions, ImageSize, OutputFormat, ResultImage};
pub use scope::Scope;
pub use submit::{SubmitRequest, ValidationError};
pub use tenant::{Tenant, TenantLimits};
pub use usage::{Metering, MicroUsd, PriceTable};
