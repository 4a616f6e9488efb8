//! C ABI (in progress: see issue 5).
