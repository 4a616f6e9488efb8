//! Instance ids: `<lowercase class, :: → _>_<uuid v4>` (docs/spec/persistence.md §8).

/// The id prefix of a class: `::` → `_`, ASCII lower-cased (`MyApp::Counter` → `myapp_counter`).
pub fn id_prefix(class: &str) -> String {
    class.replace("::", "_").to_ascii_lowercase()
}

/// A fresh id for an instance of `class`.
pub fn new_instance_id(class: &str) -> String {
    format!("{}_{}", id_prefix(class), uuid::Uuid::new_v4())
}

/// The bytes `[0-9a-zA-Z._:-]` of the id format, as a lookup table.
const ID_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-');
        b += 1;
    }
    t
};

/// True when `id` matches `^[0-9a-zA-Z._:-]+$`.
pub fn is_valid_id(id: &str) -> bool {
    // One table load per byte and no early exit: ids are short, and every saved row checks
    // its id (docs/persistence.md, "Where the time of a batch goes").
    !id.is_empty() && id.bytes().fold(true, |ok, b| ok & ID_BYTES[usize::from(b)])
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

    #[test]
    fn every_byte_is_classified_as_the_id_pattern_says() {
        for b in 0..=255u8 {
            let allowed = b.is_ascii_alphanumeric() || b"._:-".contains(&b);
            let s = [b'a', b, b'z'];
            match std::str::from_utf8(&s) {
                Ok(id) => assert_eq!(is_valid_id(id), allowed, "byte {b:#04x}"),
                Err(_) => assert!(!allowed),
            }
        }
        assert!(!is_valid_id("counter_é"));
        assert!(!is_valid_id("__kv__a/b"));
        assert!(is_valid_id("A.b:c-d_9"));
    }
}
