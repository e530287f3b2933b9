//! The dev stack: what `make dev` runs. The emulated AWS (moto), the
//! resources the SAM template declares, a seeded dev tenant, one HTTP
//! server that routes every contract path to the very handler function its
//! Lambda runs, and the event sources Lambda would be (the queue drain, the
//! table's stream).
//!
//! - [`moto`]: starting and stopping the emulator.
//! - [`provision`]: the template's resources on it, the dev tenant, sample jobs.
//! - [`stack`]: all of it provisioned, with the `App` the handlers use.
//! - [`server`]: every route on one port, as API Gateway hands requests on.
//! - [`drain`]: the jobs queue fed to the worker, as SQS's event source does.
//! - [`streams`]: the table's stream fed to the webhooks handler.
//!
//! `dev-server` (src/main.rs) runs it; the system tests, the admin CLI's
//! tests and the benchmarks start it too.

pub mod drain;
pub mod moto;
pub mod provision;
pub mod server;
pub mod stack;
pub mod streams;

pub use stack::{Stack, StackOptions};
