//! Chaos: the real handlers, worker and webhooks on moto under parallel
//! load with races, duplicate queue deliveries and provider faults, then
//! through a killed worker, an emulator outage and a receiver outage; after
//! each, the invariant checker reads the whole table. All traffic stays on
//! 127.0.0.1, every scenario is bounded in time, and the figures of each
//! run are printed (`--nocapture`).

mod billing;
mod deliveries;
mod duplicates;
mod harness;
mod history;
mod hogs;
mod invariants;
mod known;
mod ledger;
mod results;
mod summary;
mod taken_back;
mod traffic;

mod load;
mod moto_outage;
mod receiver_outage;
mod worker_crash;
