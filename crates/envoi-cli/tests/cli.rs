//! Integration tests of the `envoi` binary against the bundled test server on loopback:
//! the comparison list with curl (`tests/cases/`), and behaviours checked on their own
//! (`-v` shape, `-w` timings, resume, `-Z`, envoi's own options, bad input).

#[path = "cli/support.rs"]
mod support;

#[path = "cli/compare.rs"]
mod compare;

#[path = "cli/trace.rs"]
mod trace;

#[path = "cli/timing.rs"]
mod timing;

#[path = "cli/transfers.rs"]
mod transfers;

#[path = "cli/envoi_only.rs"]
mod envoi_only;

#[path = "cli/proxy.rs"]
mod proxy;
