//! The lab checker: collects every problem of the lab file, each with its file, line, field
//! and what to do. Its checks of endpoints and of machines and VMs are in files of their own.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;

use serde_saphyr::Spanned;

use crate::inputs::diagnostics::{Diagnostic, Diagnostics};
use crate::inputs::lab::Lab;

use super::rules::{
    control_characters, display_text_problem, dns_label_problem, dns_subdomain_problem,
    normalize_mac,
};
use super::spans::place;
use super::spans::{LabSpans, at};

/// `path` as written in the lab file `file`: a relative path is relative to the file's directory.
pub fn relative_to(file: &Path, path: &str) -> std::path::PathBuf {
    file.parent().unwrap_or(Path::new("")).join(path)
}

/// Collects every problem of the lab file. `text` is the file's text, read again for the
/// positions of fields that [`Lab`] does not keep them for (see [`LabSpans`]).
pub fn check_lab(file: &Path, text: &str, lab: &Lab) -> Diagnostics {
    let mut checker = LabChecker {
        file,
        spans: serde_saphyr::from_str(text).unwrap_or_default(),
        out: Diagnostics::default(),
    };
    checker.schema(lab);
    checker.text(lab);
    checker.networks(lab);
    checker.endpoints(lab);
    checker.machines(lab);
    checker.vms(lab);
    checker.addresses(lab);
    checker.out
}

/// The lab's MACs in lowercase colon form (`02:00:00:0a:0a:0b`), as Tinkerbell's Hardware,
/// DHCP and KubeVirt compare them. Call after [`check_lab`] found no problem with them; a MAC
/// that does not parse is left as written.
pub fn normalize_macs(lab: &mut Lab) {
    let macs = lab
        .machines
        .iter_mut()
        .map(|machine| &mut machine.pxe_mac)
        .chain(lab.vms.iter_mut().map(|vm| &mut vm.mac));
    for mac in macs {
        if let Ok(normal) = normalize_mac(&mac.value) {
            mac.value = normal;
        }
    }
}

pub(crate) struct LabChecker<'a> {
    pub(crate) file: &'a Path,
    pub(crate) spans: LabSpans,
    out: Diagnostics,
}

impl LabChecker<'_> {
    pub(crate) fn report(
        &mut self,
        position: (u64, u64),
        field: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.out
            .push(Diagnostic::new(self.file, position, field, message).help(help));
    }

    fn schema(&mut self, lab: &Lab) {
        if lab.schema.value != 1 {
            self.report(
                at(&lab.schema),
                "schema",
                format!("unsupported lab file schema {}", lab.schema.value),
                "this version of genesis reads `schema: 1`",
            );
        }
    }

    /// Control characters (an escape sequence, a carriage return) in any text of the lab would
    /// reach the operator's terminal through plans and reports; the lab's `name` is shown on one
    /// line, so it may not hold a line break either.
    fn text(&mut self, lab: &Lab) {
        if let Some(problem) = display_text_problem(&lab.name) {
            self.report(
                place(&self.spans.name),
                "name",
                format!("the lab's name {problem}"),
                "use a short one-line name of letters, digits, spaces and punctuation",
            );
        }
        let mut found = Vec::new();
        control_characters(
            &serde_json::to_value(lab).unwrap_or_default(),
            "",
            &mut found,
        );
        for field in found.into_iter().filter(|field| field != "name") {
            self.report(
                (0, 0),
                field,
                "contains a control character (such as an escape sequence)",
                "write plain text; genesis prints these values to the terminal",
            );
        }
    }

    pub(crate) fn namespace(&mut self, position: (u64, u64), field: &str, value: &str) {
        if let Some(problem) = dns_label_problem(value) {
            self.report(
                position,
                field,
                format!("`{value}` is not a valid Kubernetes namespace: {problem}"),
                "a namespace is an RFC 1123 label: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit (e.g. tink-system)",
            );
        }
    }

    pub(crate) fn object_name(
        &mut self,
        position: (u64, u64),
        field: &str,
        value: &str,
        what: &str,
    ) {
        if let Some(problem) = dns_subdomain_problem(value) {
            self.report(
                position,
                field,
                format!("`{value}` is not a valid Kubernetes object name ({what}): {problem}"),
                "an object name is an RFC 1123 subdomain: lowercase letters, digits, `-` and `.`, at most 253, each part starting and ending with a letter or digit (e.g. talos-nocloud)",
            );
        }
    }

    pub(crate) fn port(&mut self, position: (u64, u64), field: &str, port: u16) {
        if port == 0 {
            self.report(
                position,
                field,
                "port 0 is not a port one can connect to",
                "use a TCP port between 1 and 65535",
            );
        }
    }

    fn networks(&mut self, lab: &Lab) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut vlans: HashMap<u16, usize> = HashMap::new();
        for (index, network) in lab.networks.iter().enumerate() {
            let field = format!("networks[{index}]");
            if let Some(first) = names.insert(&network.name.value, index) {
                self.report(
                    at(&network.name),
                    format!("{field}.name"),
                    format!(
                        "network name `{}` is already used by networks[{first}]",
                        network.name.value
                    ),
                    "give every network a distinct name",
                );
            }
            let vlan = network.vlan.value;
            if !(1..=4094).contains(&vlan) {
                self.report(
                    at(&network.vlan),
                    format!("{field}.vlan"),
                    format!("VLAN id {vlan} is outside 1–4094"),
                    "use an 802.1Q VLAN id between 1 and 4094",
                );
            } else if let Some(first) = vlans.insert(vlan, index) {
                self.report(
                    at(&network.vlan),
                    format!("{field}.vlan"),
                    format!("VLAN {vlan} is already used by networks[{first}]"),
                    "each network needs its own VLAN",
                );
            }
            if let Some(gateway) = &network.gateway
                && !network.subnet.value.contains(&gateway.value)
            {
                self.report(
                    at(gateway),
                    format!("{field}.gateway"),
                    format!(
                        "gateway {} is outside the network's subnet {}",
                        gateway.value, network.subnet.value
                    ),
                    "the gateway must be an address of the subnet",
                );
            } else if let Some(gateway) = &network.gateway
                && network.subnet.value.prefix_len() < 31
                && (gateway.value == network.subnet.value.network()
                    || gateway.value == network.subnet.value.broadcast())
            {
                self.report(
                    at(gateway),
                    format!("{field}.gateway"),
                    format!(
                        "gateway {} is the network or broadcast address of {}",
                        gateway.value, network.subnet.value
                    ),
                    "the gateway is the router's host address, such as the subnet's .1",
                );
            }
            if let Some(problem) = dns_label_problem(&network.name.value) {
                self.report(
                    at(&network.name),
                    format!("{field}.name"),
                    format!(
                        "`{}` is not a valid network name: {problem}",
                        network.name.value
                    ),
                    "the name becomes a Kubernetes object name on Harvester: use lowercase letters, digits and `-` (at most 63, starting and ending with a letter or digit)",
                );
            }
            if network.subnet.value.network() != network.subnet.value.addr() {
                self.report(
                    at(&network.subnet),
                    format!("{field}.subnet"),
                    format!("subnet {} has host bits set", network.subnet.value),
                    format!(
                        "write the network address: {}",
                        network.subnet.value.trunc()
                    ),
                );
            }
            for (other_index, other) in lab.networks.iter().enumerate().take(index) {
                if other.subnet.value.contains(&network.subnet.value.network())
                    || network.subnet.value.contains(&other.subnet.value.network())
                {
                    self.report(
                        at(&network.subnet),
                        format!("{field}.subnet"),
                        format!(
                            "subnet {} overlaps networks[{other_index}] ({})",
                            network.subnet.value, other.subnet.value
                        ),
                        "VLANs of one lab need disjoint subnets",
                    );
                }
            }
        }
    }

    /// Checks that `network` names a network and that `ip` lies in its subnet.
    pub(crate) fn address_in(
        &mut self,
        lab: &Lab,
        field: &str,
        network: &Spanned<String>,
        ip: &Spanned<Ipv4Addr>,
    ) {
        match lab.network(&network.value) {
            None => self.unknown_network(lab, &format!("{field}.network"), network),
            Some(found) => {
                if !found.subnet.value.contains(&ip.value) {
                    self.report(
                        at(ip),
                        format!("{field}.ip"),
                        format!(
                            "{} is outside network `{}` ({})",
                            ip.value, found.name.value, found.subnet.value
                        ),
                        format!(
                            "use an address in {}, or name the network this address belongs to",
                            found.subnet.value
                        ),
                    );
                } else if ip.value == found.subnet.value.network()
                    || ip.value == found.subnet.value.broadcast()
                {
                    self.report(
                        at(ip),
                        format!("{field}.ip"),
                        format!(
                            "{} is the network or broadcast address of {}",
                            ip.value, found.subnet.value
                        ),
                        "use a host address",
                    );
                } else if found
                    .gateway
                    .as_ref()
                    .is_some_and(|gateway| gateway.value == ip.value)
                {
                    self.report(
                        at(ip),
                        format!("{field}.ip"),
                        format!(
                            "{} is the gateway of network `{}`",
                            ip.value, found.name.value
                        ),
                        "use a free host address; the gateway is the router's",
                    );
                }
            }
        }
    }

    pub(crate) fn unknown_network(&mut self, lab: &Lab, field: &str, network: &Spanned<String>) {
        let known: Vec<&str> = lab
            .networks
            .iter()
            .map(|network| network.name.value.as_str())
            .collect();
        self.report(
            at(network),
            field,
            format!("unknown network `{}`", network.value),
            format!("networks defined in this file: {}", known.join(", ")),
        );
    }
}
