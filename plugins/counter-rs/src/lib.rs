//! plugin (in progress: see issue 5)
