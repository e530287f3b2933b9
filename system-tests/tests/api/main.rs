//! Integration tests: the real handlers, served by the dev stack's HTTP
//! server, against a real moto server. No AWS call is faked. The harness
//! is this crate's library (`system_tests::TestStack`).

mod auth;
mod deadlines;
mod deliveries;
mod events;
mod failures;
mod hostile;
mod idempotency;
mod limits;
mod listing;
mod metrics;
mod modes;
mod options;
mod routes;
mod secrets;
mod sweeper;
mod template;
mod usage;
mod waiting;
mod webhooks;
mod worker;
