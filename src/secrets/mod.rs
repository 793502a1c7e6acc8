//! Secret values: loaded once, wrapped in a type that never prints them, registered for
//! scrubbing by value.
//!
//! The secrets file is YAML: nested mappings whose leaves are strings. A leaf is addressed by
//! its dotted path, e.g. `bmc.ms-02-1.password`. Error messages about this file name the file,
//! line and path, never a value or a source snippet.

mod age;
mod error;
mod file;
mod format;
pub mod keyed;
mod paths;
mod set;
mod value;

#[cfg(test)]
mod tests;

pub use age::*;
pub use error::*;
pub use file::*;
pub use format::*;
pub use paths::*;
pub use set::*;
pub use value::*;
