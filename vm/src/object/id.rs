//! Instance ids: `<lowercase class, :: → _>_<uuid v4>` (persistence.md §8).

/// The id prefix of a class: `::` → `_`, ASCII lower-cased (`MyApp::Counter` → `myapp_counter`).
pub fn id_prefix(class: &str) -> String {
    class.replace("::", "_").to_ascii_lowercase()
}

/// A fresh id for an instance of `class`.
pub fn new_instance_id(class: &str) -> String {
    format!("{}_{}", id_prefix(class), uuid::Uuid::new_v4())
}

/// True when `id` matches `^[0-9a-zA-Z._:-]+$`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_spec_shape() {
        let id = new_instance_id("MyApp::Counter");
        let (prefix, uuid) = id.split_at("myapp_counter_".len());
        assert_eq!(prefix, "myapp_counter_");
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'4', "version 4 uuid: {uuid}");
        assert!(
            uuid.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(is_valid_id(&id));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(""));
        assert!(is_valid_id("counter_123_1700000000"));
    }
}
