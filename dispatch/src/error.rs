//! Errors reported by the fallible (`try_*`) registry operations.

use crate::class::ClassId;
use crate::selector::Sel;

/// Why a registry operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// A class name was empty.
    #[error("invalid class name: the name is empty")]
    EmptyClassName,
    /// The class id was never issued by this registry, or its class was removed.
    #[error("unknown class: id {}", .0.0)]
    UnknownClass(ClassId),
    /// The selector is [`Sel::INVALID`] or was never issued by [`crate::intern`].
    #[error("invalid selector: id {}", .0.0)]
    InvalidSelector(Sel),
}
