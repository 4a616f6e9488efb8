//! Helpers shared by the workspace's test harnesses. Dev-only: no crate depends on it outside
//! `[dev-dependencies]`.

pub mod golden;
