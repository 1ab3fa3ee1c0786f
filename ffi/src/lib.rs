//! C ABI for in-process jetmem tracing.
