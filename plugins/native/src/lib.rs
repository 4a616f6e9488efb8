//! The C example plugins, compiled by `build.rs` into shared objects.
//!
//! This crate has no code of its own: it tells dependents (tests, benchmarks) where the
//! compiled plugins and their sources are. See `docs/plugins.md`.

/// Directory holding `Counter.so`, `EventDispatcher.so` (and `Event.so`, a symlink to it),
/// `Stream.so`, `JsonCounter.so` and `BenchTarget.so`. Usable as `TT_Init`'s plugin directory.
pub const PLUGIN_DIR: &str = env!("TT_NATIVE_PLUGIN_DIR");

/// Directory of the C sources (`counter.c`, `events.c`, `stream.c`, `json_counter.c`,
/// `bench_target.c`).
pub const C_SOURCE_DIR: &str = env!("TT_NATIVE_C_DIR");

/// Directory of `libtrashtalk.h`.
pub const INCLUDE_DIR: &str = env!("TT_CAPI_INCLUDE_DIR");

/// File name extension of plugins on this platform.
pub const EXT: &str = if cfg!(target_os = "macos") {
    "dylib"
} else {
    "so"
};

/// Path of the compiled plugin whose file is named after `class`.
pub fn plugin_path(class: &str) -> std::path::PathBuf {
    std::path::Path::new(PLUGIN_DIR).join(format!("{class}.{EXT}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_plugin_was_built() {
        for c in [
            "Counter",
            "EventDispatcher",
            "Event",
            "Stream",
            "JsonCounter",
            "BenchTarget",
        ] {
            assert!(super::plugin_path(c).is_file(), "{c}");
        }
    }
}
