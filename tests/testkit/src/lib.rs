//! `tt-testkit`: helpers shared by the tests of every crate in the workspace (a dev-dependency
//! only; never shipped).
//!
//! * [`golden`]: golden-file comparison for every golden harness (`UPDATE_GOLDEN=1` rewrites).
//! * [`skip`]: a test that cannot run here (a missing tool, a privilege it needs) says so in the
//!   test output and in the CI skip log instead of passing silently.

pub mod golden;
pub mod skip;
