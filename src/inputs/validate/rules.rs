//! Checks of single values: MAC addresses, DNS names, display text, device paths, interface
//! names, quantities, reserved addresses.

use std::net::Ipv4Addr;

use crate::inputs::lab::Network;

/// What is wrong with a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MacProblem {
    #[error("is not a MAC address")]
    Malformed,
    #[error("mixes `:` and `-` separators")]
    MixedSeparators,
    #[error("is the all-zero MAC, not a NIC's address")]
    Zero,
    #[error("is a multicast (or broadcast) MAC, not a NIC's address")]
    Multicast,
}

/// A MAC in lowercase colon form. Accepted: six pairs of hexadecimal digits (either case),
/// separated all by `:` or all by `-`. Refused: any other shape, mixed separators, the all-zero
/// MAC and multicast MACs (first octet odd), which include the broadcast MAC.
pub fn normalize_mac(text: &str) -> Result<String, MacProblem> {
    let separator = match (text.contains(':'), text.contains('-')) {
        (true, true) => return Err(MacProblem::MixedSeparators),
        (true, false) => ':',
        (false, true) => '-',
        (false, false) => return Err(MacProblem::Malformed),
    };
    let octets: Vec<u8> = text
        .split(separator)
        .map(|octet| {
            if octet.len() == 2 && octet.bytes().all(|b| b.is_ascii_hexdigit()) {
                u8::from_str_radix(octet, 16).ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()
        .ok_or(MacProblem::Malformed)?;
    if octets.len() != 6 {
        return Err(MacProblem::Malformed);
    }
    if octets.iter().all(|&octet| octet == 0) {
        return Err(MacProblem::Zero);
    }
    if octets[0] & 1 == 1 {
        return Err(MacProblem::Multicast);
    }
    Ok(octets
        .iter()
        .map(|octet| format!("{octet:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// Why `value` is not an RFC 1123 label (a Kubernetes namespace, a host name), if it is not.
pub fn dns_label_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".to_owned());
    }
    if value.len() > 63 {
        return Some(format!(
            "it is {} characters long, more than 63",
            value.len()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "{} is not allowed (only lowercase letters, digits and `-`)",
            describe_char(bad)
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Some("it starts or ends with `-`".to_owned());
    }
    None
}

/// Why `value` is not an RFC 1123 subdomain (most Kubernetes object names), if it is not.
pub fn dns_subdomain_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".to_owned());
    }
    if value.len() > 253 {
        return Some(format!(
            "it is {} characters long, more than 253",
            value.len()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "{} is not allowed (only lowercase letters, digits, `-` and `.`)",
            describe_char(bad)
        ));
    }
    if value
        .split('.')
        .any(|part| part.is_empty() || part.starts_with('-') || part.ends_with('-'))
    {
        return Some(
            "each `.`-separated part must start and end with a letter or digit".to_owned(),
        );
    }
    None
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c if c.is_ascii_uppercase() => format!("the uppercase letter `{c}`"),
        c => format!("`{c}`"),
    }
}

/// Why a text shown on one line of the terminal is not fit for it.
pub(crate) fn display_text_problem(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() {
        Some("is empty")
    } else if value.chars().any(|c| c == '\n' || c == '\r') {
        Some("spans more than one line")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character (such as an escape sequence)")
    } else if value.chars().count() > 200 {
        Some("is longer than 200 characters")
    } else {
        None
    }
}

/// The dotted paths of every text in `value` that holds a control character other than a line
/// break or a tab.
pub(crate) fn control_characters(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text)
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            found.push(path.to_owned());
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                control_characters(item, &format!("{path}[{index}]"), found);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                control_characters(item, &child, found);
            }
        }
        _ => {}
    }
}

/// What `address` is, if it is not a free host address of `network`: its network, broadcast or
/// gateway address.
pub(crate) fn reserved_address(network: &Network, address: Ipv4Addr) -> Option<&'static str> {
    let subnet = network.subnet.value;
    if subnet.prefix_len() < 31 && address == subnet.network() {
        Some("network address")
    } else if subnet.prefix_len() < 31 && address == subnet.broadcast() {
        Some("broadcast address")
    } else if network
        .gateway
        .as_ref()
        .is_some_and(|gateway| gateway.value == address)
    {
        Some("gateway")
    } else {
        None
    }
}

/// Why `path` is not a canonical device path below /dev, if it is not: it must be absolute,
/// below /dev, and free of `.`/`..` components, repeated or trailing `/` and whitespace.
pub fn device_path_problem(path: &str) -> Option<&'static str> {
    let Some(rest) = path.strip_prefix("/dev/") else {
        return Some("it is not below /dev/");
    };
    if rest.is_empty() {
        return Some("it names /dev/ itself, not a disk");
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains whitespace or a control character");
    }
    if rest.ends_with('/') || rest.split('/').any(str::is_empty) {
        return Some("it has an empty component (`//` or a trailing `/`)");
    }
    if rest.split('/').any(|part| part == "." || part == "..") {
        return Some("it has a `.` or `..` component, so it is not canonical");
    }
    None
}

/// Why `name` is not a Linux network interface name, if it is not (`dev_valid_name`: 1 to 15
/// bytes, no `/`, `:` or whitespace, not `.` or `..`).
pub(crate) fn interface_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 15 {
        Some("it must be 1 to 15 characters long")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not interface names")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        Some("it contains `/`, `:`, whitespace or a control character")
    } else {
        None
    }
}

/// A size in Kubernetes binary-quantity form (`16Gi`): `None` if it is not one, else its bytes
/// or why they are unusable (zero, or too large to count).
pub fn binary_quantity(value: &str) -> Option<Result<u64, &'static str>> {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let shift = match unit {
        "Mi" => 20,
        "Gi" => 30,
        "Ti" => 40,
        _ => return None,
    };
    Some(match digits.parse::<u64>() {
        Ok(0) => Err("is zero"),
        Ok(number) => number.checked_mul(1 << shift).ok_or("is too large"),
        Err(_) => Err("is too large"),
    })
}
