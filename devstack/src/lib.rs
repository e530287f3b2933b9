//! The dev stack: what `make dev` runs. The emulated AWS (moto), the
//! resources the SAM template declares, a seeded dev tenant, one HTTP
//! server that routes every contract path to the very handler function its
//! Lambda runs, and the event sources Lambda would be (the queue drain, the
//! table's stream).
//!
//! - [`moto`]: starting and stopping the emulator.
//! - [`provision`]: the template's resources on it, the dev tenant, sample jobs.
//! - [`resources`]: one stack's resources and the settings the functions get.
//! - [`drain`]: the jobs queue fed to the worker, as SQS's event source does.
//! - [`apigw`]: a request shaped as API Gateway hands it to a function.
//! - [`stack`]: all of it provisioned, with the `App` the handlers use.
//! - [`server`]: every route on one port, as API Gateway hands requests on.
//! - [`streams`]: the table's stream fed to the webhooks handler.
//! - [`metrics`]: the functions' metrics as one line a minute (`make dev`).
//!
//! `dev-server` (src/main.rs) runs it; the system tests and the benchmarks
//! start it too. The last three, and the binary, need the `stack` feature
//! (on by default): it brings in every function. Without it the crate is
//! the emulator, the resources and the worker's queue drain, which is what
//! the admin CLI's tests use, so they build three Lambdas, not eight.

pub mod apigw;
pub mod drain;
#[cfg(feature = "stack")]
pub mod metrics;
pub mod moto;
pub mod provision;
pub mod resources;
#[cfg(feature = "stack")]
pub mod server;
#[cfg(feature = "stack")]
pub mod stack;
#[cfg(feature = "stack")]
pub mod streams;

pub use resources::{Resources, StackOptions};
#[cfg(feature = "stack")]
pub use stack::Stack;
