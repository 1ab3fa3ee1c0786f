//! Shared helpers for jetmem integration tests.
