//! Arbitrary field values, for the property tests of every parser of a header field.

use proptest::prelude::*;

/// A byte a field value may hold (RFC 9110 §5.5): HTAB, SP, visible ASCII, obs-text.
pub(crate) fn field_byte() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'\t'), Just(b' '), 0x21u8..=0x7e, 0x80u8..=0xff]
}

/// A field value of fewer than `max` such bytes.
pub(crate) fn field_value(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(field_byte(), 0..max)
}
