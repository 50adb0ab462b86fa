//! The sandbox over real loopback HTTP, as clients see it: one test binary, a module
//! per topic.

mod harness;
mod login;

mod authorization_code;
mod browser_script;
mod collections;
mod control;
mod device;
mod faults;
mod metadata;
mod revocation;
mod token;
mod writes;
