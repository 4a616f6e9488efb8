//! Cranelift tier (in progress: see issue 6).
