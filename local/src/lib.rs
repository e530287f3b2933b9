//! The local stack: the emulated AWS (moto), the resources the SAM template
//! declares, a seeded dev tenant, and one HTTP server that routes every
//! contract path to the very handler function its Lambda runs.
//!
//! `dev-server` (what `make dev` runs) and the integration tests both use it.

pub mod bench;
pub mod drain;
pub mod fake_gemini;
pub mod meter;
pub mod moto;
pub mod pictures;
pub mod provision;
pub mod seeded;
pub mod server;
pub mod stack;
pub mod streams;

pub use stack::{Stack, StackOptions};
