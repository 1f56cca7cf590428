//! End-to-end tests of the test server over real loopback sockets, one module per concern.
//! They share one test binary so the crate links once.

mod support;

mod httpbin;
mod lifecycle;
mod raw;
mod socks;
mod tls;
mod transfer;
