//! The admin CLI run as a real process against a real moto server, with
//! the API's real handlers checking that what it writes takes effect.

mod support;

mod audit;
mod invalid;
mod keys;
mod limits;
mod seed;
mod stats;
mod sweeper;
mod tenants;
mod usage;
mod webhooks;
