//! Conformance suites for the ports, and fixtures.
