//! Well-formed values: what shape a secret's value must have, from the parameter that uses it.

use std::collections::BTreeMap;

use super::value::SecretString;

/// What shape a secret's value must have, from the parameter that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretFormat {
    /// One line without surrounding white space: passwords, tokens, user names.
    Line,
    /// An unencrypted OpenSSH private key (`ssh_key` parameters).
    SshPrivateKey,
    /// A YAML mapping, such as a machine configuration (`user_data` parameters).
    YamlMapping,
}

impl SecretFormat {
    /// The format of a secret used as parameter `param` (its last key decides).
    pub fn of_param(param: &str) -> Self {
        match param.rsplit('.').next().unwrap_or(param) {
            "ssh_key" | "private_key" => Self::SshPrivateKey,
            "user_data" | "machine_config" => Self::YamlMapping,
            _ => Self::Line,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Line => "one line",
            Self::SshPrivateKey => "OpenSSH private key",
            Self::YamlMapping => "YAML mapping",
        }
    }

    /// Checks a value; the reason never quotes it.
    pub fn check(self, value: &SecretString) -> Result<(), &'static str> {
        let text = value.expose();
        if text.trim().is_empty() {
            return Err("empty");
        }
        match self {
            Self::Line => {
                if text.contains(['\n', '\r']) {
                    Err(
                        "spans several lines; a block scalar (`|`) keeps the final newline, so \
                         quote the value instead",
                    )
                } else if text.trim() != text {
                    Err("starts or ends with white space")
                } else {
                    Ok(())
                }
            }
            Self::SshPrivateKey => russh::keys::decode_secret_key(text, None)
                .map(drop)
                .map_err(|_| "not an unencrypted OpenSSH private key"),
            Self::YamlMapping => {
                match serde_saphyr::from_str::<BTreeMap<String, serde_json::Value>>(text) {
                    Ok(map) if !map.is_empty() => Ok(()),
                    _ => Err("not a YAML mapping"),
                }
            }
        }
    }
}
