//! One secret value, in a type that never prints it.

use std::fmt;
use zeroize::Zeroizing;

/// A secret value. `Debug` and `Display` print `[redacted]`; only [`SecretString::expose`]
/// gives the value, so every use of the value is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value itself. Call it only where the value must leave genesis (an API request, a
    /// process environment), never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
