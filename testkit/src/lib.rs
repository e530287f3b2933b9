//! What tests and benchmarks put around the service, and nothing of the
//! service itself (no function, no dev stack): stand-ins for what it talks
//! to, and the means to make runs repeatable.
//!
//! - [`loopback`]: the one loopback HTTP server every double below runs on.
//! - [`fake_gemini`]: Gemini's `generateContent`, scripted or a seeded mix.
//! - [`files`]: fixed answers per path (img2img inputs, redirects).
//! - [`receiver`]: a webhook receiver that records what it gets.
//! - [`seeded`]: a seeded random generator, so a run replays from its seed.
//! - [`clock`]: keeping a test inside one rate window.
//! - [`pictures`]: PNGs, and PNGs whose header lies about their size.
//! - [`sqs`]: the worker's SQS event for a job message.
//!
//! The stack harness (a provisioned stack per test, served on a free port)
//! is `system-tests`' library: only the system tests start a whole stack.

pub mod clock;
pub mod fake_gemini;
pub mod files;
pub mod loopback;
pub mod pictures;
pub mod receiver;
pub mod seeded;
pub mod sqs;

pub use clock::away_from_minute_boundary;
pub use fake_gemini::FakeGemini;
pub use files::{FileServer, Route};
pub use loopback::Loopback;
pub use receiver::{Received, Receiver};
