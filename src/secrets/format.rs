//! Well-formed values: what shape a secret's value must have, from the parameter that uses it.

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
    /// The Harvester cluster token: one line of printable ASCII (letters, digits, space and
    /// the OWASP special password characters). The Harvester installer refuses any other
    /// token: `checkToken` with `validTokenChars` in harvester/harvester-installer
    /// `pkg/console/validator.go` (commit 8b8f0f223b67f95a60ec64a5da954a911b024c15), whose
    /// class is exactly U+0020–U+007E.
    HarvesterToken,
}

impl SecretFormat {
    /// The format of a secret used as parameter `param` of a step of kind `kind`: the
    /// Harvester install configuration's `token` is a Harvester token; otherwise the
    /// parameter's last key decides ([`SecretFormat::of_param`]).
    pub fn of(kind: &str, param: &str) -> Self {
        let last = param.rsplit('.').next().unwrap_or(param);
        if kind == "tinkerbell.hardware" && last == "token" {
            Self::HarvesterToken
        } else {
            Self::of_param(param)
        }
    }

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
            Self::HarvesterToken => "Harvester token",
        }
    }

    /// What to do about a value this format refuses.
    pub fn help(self) -> &'static str {
        match self {
            Self::Line => "write the value on one line, quoted, without surrounding spaces",
            Self::SshPrivateKey => {
                "paste the whole private key file (`ssh-keygen -t ed25519 -N ''` writes one) as a \
                 block scalar (`|`), without a passphrase; its public half belongs in the lab \
                 file's endpoints.harvester.ssh_authorized_keys"
            }
            Self::YamlMapping => "paste the whole YAML document as a block scalar (`|`)",
            Self::HarvesterToken => {
                "choose a token of ASCII letters, digits and punctuation (e.g. `openssl rand \
                 -hex 32`); every node of the cluster uses the same token"
            }
        }
    }

    /// Checks a value; the reason never quotes it.
    pub fn check(self, value: &SecretString) -> Result<(), &'static str> {
        let text = value.expose();
        if text.trim().is_empty() {
            return Err("empty");
        }
        match self {
            Self::Line | Self::HarvesterToken => {
                if text.contains(['\n', '\r']) {
                    Err(
                        "on several lines (a block scalar `|` keeps the final newline, so quote \
                         the value instead)",
                    )
                } else if text.trim() != text {
                    Err("surrounded by white space")
                } else if self == Self::HarvesterToken
                    && !text.chars().all(|c| (' '..='~').contains(&c))
                {
                    Err(
                        "not a token Harvester accepts: it holds a character other than ASCII \
                         letters, digits, space and the punctuation ! \" # $ % & ' ( ) * + , - . \
                         / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~",
                    )
                } else {
                    Ok(())
                }
            }
            Self::SshPrivateKey => russh::keys::decode_secret_key(text, None)
                .map(drop)
                .map_err(|_| "not an unencrypted OpenSSH private key"),
            // A stream of documents (a Talos 1.12 config adds a `HostnameConfig` document),
            // each a mapping.
            Self::YamlMapping => match serde_saphyr::from_multiple::<serde_json::Value>(text) {
                Ok(documents)
                    if documents.iter().any(|document| {
                        document.as_object().is_some_and(|map| !map.is_empty())
                    }) && documents
                        .iter()
                        .all(|document| document.is_object() || document.is_null()) =>
                {
                    Ok(())
                }
                _ => Err("not a YAML mapping"),
            },
        }
    }
}
