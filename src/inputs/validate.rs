//! Semantic checks of the lab inventory: everything that parses but cannot be right.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;

use serde_saphyr::Spanned;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::lab::{Lab, Role, is_dns_subdomain, label_problem};
use crate::actions::tinkerbell::{DISK_IMAGE_ROLE, disk_image_compressed};

/// Line and column of a spanned value.
pub fn at<T>(spanned: &Spanned<T>) -> (u64, u64) {
    (spanned.referenced.line(), spanned.referenced.column())
}

/// `path` as written in the lab file `file`: a relative path is relative to the file's directory.
pub fn relative_to(file: &Path, path: &str) -> std::path::PathBuf {
    file.parent().unwrap_or(Path::new("")).join(path)
}

/// Collects every problem of the lab file.
pub fn check_lab(file: &Path, lab: &Lab) -> Diagnostics {
    let mut checker = LabChecker {
        file,
        out: Diagnostics::default(),
    };
    checker.schema(lab);
    checker.networks(lab);
    checker.endpoints(lab);
    checker.machines(lab);
    checker.vms(lab);
    checker.addresses(lab);
    checker.out
}

struct LabChecker<'a> {
    file: &'a Path,
    out: Diagnostics,
}

impl LabChecker<'_> {
    fn report(
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
    fn address_in(
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
                }
            }
        }
    }

    fn unknown_network(&mut self, lab: &Lab, field: &str, network: &Spanned<String>) {
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

    fn endpoints(&mut self, lab: &Lab) {
        let harvester = &lab.endpoints.harvester;
        match lab.network(&harvester.network.value) {
            None => self.unknown_network(lab, "endpoints.harvester.network", &harvester.network),
            Some(network) if !network.subnet.value.contains(&harvester.vip.value) => self.report(
                at(&harvester.vip),
                "endpoints.harvester.vip",
                format!(
                    "VIP {} is outside network `{}` ({})",
                    harvester.vip.value, network.name.value, network.subnet.value
                ),
                "the VIP must be a free address of the management network",
            ),
            Some(_) => {}
        }
        for (field, url) in [
            ("endpoints.pxe.base_url", Some(&lab.endpoints.pxe.base_url)),
            (
                "endpoints.tinkerbell.metadata_url",
                Some(&lab.endpoints.tinkerbell.metadata_url),
            ),
            (
                "endpoints.argocd.api_url",
                lab.endpoints.argocd.api_url.as_ref(),
            ),
        ] {
            if let Some(url) = url {
                self.http_url(field, url);
            }
        }
        if let Some(ca_file) = &lab.endpoints.pxe.ca_file {
            let path = relative_to(self.file, &ca_file.value);
            if !path.is_file() {
                self.report(
                    at(ca_file),
                    "endpoints.pxe.ca_file",
                    format!("CA file `{}` does not exist", path.display()),
                    "name the PEM file of the CA that signed the artifact server's certificate; a relative path is relative to the lab file's directory",
                );
            }
        }
        let mut roles: HashMap<&str, usize> = HashMap::new();
        for (index, artifact) in lab.endpoints.pxe.artifacts.iter().enumerate() {
            let field = format!("endpoints.pxe.artifacts[{index}]");
            if artifact.role.value != DISK_IMAGE_ROLE {
                self.report(
                    at(&artifact.role),
                    format!("{field}.role"),
                    format!("unknown artifact role `{}`", artifact.role.value),
                    "the only role is disk-image: the stream install downloads nothing else (the ISO, kernel, initrd and rootfs of the ISO install are not used; remove them)",
                );
            } else if let Some(first) = roles.insert(&artifact.role.value, index) {
                self.report(
                    at(&artifact.role),
                    format!("{field}.role"),
                    format!(
                        "artifact role `{}` is already given by artifacts[{first}]",
                        artifact.role.value
                    ),
                    "list each artifact once",
                );
            } else if disk_image_compressed(&artifact.file).is_none() {
                self.report(
                    at(&artifact.role),
                    format!("{field}.file"),
                    format!("`{}` is not a file name image2disk can stream as a disk image", artifact.file),
                    "name a raw disk image ending in .raw or .img, or one compressed as .gz, .xz, .zst or .bz2",
                );
            }
            if let Some(sum) = &artifact.sha256
                && (sum.value.len() != 64 || !sum.value.chars().all(|c| c.is_ascii_hexdigit()))
            {
                self.report(
                    at(sum),
                    format!("{field}.sha256"),
                    "not a SHA-256 digest",
                    "write the 64 hexadecimal digits that `sha256sum` prints",
                );
            }
        }
        if !roles.contains_key(DISK_IMAGE_ROLE) {
            self.report(
                at(&lab.endpoints.pxe.base_url),
                "endpoints.pxe.artifacts",
                "no `disk-image` artifact: the install Template streams the Harvester raw disk image named there",
                "add `- {role: disk-image, file: <raw image file below base_url, e.g. harvester-v1.7.0-amd64.raw.zst>}`",
            );
        }
        let argocd = &lab.endpoints.argocd;
        let secret_type = "argocd.argoproj.io/secret-type";
        for (key, value) in &argocd.labels {
            let problem = if key == secret_type || key == "app.kubernetes.io/managed-by" {
                Some(format!("label `{key}` is set by genesis itself"))
            } else {
                label_problem(key, value)
            };
            if let Some(problem) = problem {
                self.report(
                    (0, 0),
                    format!("endpoints.argocd.labels.{key}"),
                    problem,
                    "write Kubernetes label syntax: [prefix/]name with a value of at most 63 characters",
                );
            }
        }
        if let Some(name) = &argocd.secret_name
            && !is_dns_subdomain(&name.value)
        {
            self.report(
                at(name),
                "endpoints.argocd.secret_name",
                format!("`{}` is not a valid Secret name", name.value),
                "lower-case letters, digits, `-` and `.`, at most 253 characters",
            );
        }
    }

    fn http_url(&mut self, field: &str, url: &Spanned<String>) {
        match url::Url::parse(&url.value) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
            Ok(parsed) => self.report(
                at(url),
                field,
                format!(
                    "`{}` is not an http(s) URL (scheme `{}`)",
                    url.value,
                    parsed.scheme()
                ),
                "write a URL such as http://10.10.10.10:8080/path",
            ),
            Err(error) => self.report(
                at(url),
                field,
                format!("`{}` is not a URL: {error}", url.value),
                "write a URL such as http://10.10.10.10:8080/path",
            ),
        }
    }

    fn machines(&mut self, lab: &Lab) {
        self.hostname("platform_node.hostname", &lab.platform_node.hostname);
        self.address_in(
            lab,
            "platform_node",
            &lab.platform_node.network,
            &lab.platform_node.ip,
        );
        let mut hostnames: HashMap<&str, String> = HashMap::from([(
            lab.platform_node.hostname.value.as_str(),
            "platform_node".to_owned(),
        )]);
        let creators: Vec<usize> = lab
            .machines
            .iter()
            .enumerate()
            .filter(|(_, machine)| machine.role.value == Role::Create)
            .map(|(index, _)| index)
            .collect();
        if lab.machines.is_empty() {
            self.report(
                (0, 0),
                "machines",
                "the lab has no machines to provision",
                "list the machines under `machines:`",
            );
        } else if creators.is_empty() {
            self.report(
                at(&lab.machines[0].role),
                "machines[0].role",
                "no machine has `role: create`, so nothing would create the Harvester cluster",
                "give exactly one machine (the first to install) `role: create`; the others `join`",
            );
        }
        for &extra in creators.iter().skip(1) {
            self.report(
                at(&lab.machines[extra].role),
                format!("machines[{extra}].role"),
                format!("a second machine with `role: create` (machines[{}] already creates the cluster)", creators[0]),
                "exactly one machine creates the cluster; set the others to `role: join`",
            );
        }
        for (index, machine) in lab.machines.iter().enumerate() {
            let field = format!("machines[{index}]");
            self.hostname(&format!("{field}.hostname"), &machine.hostname);
            if let Some(first) = hostnames.insert(&machine.hostname.value, field.clone()) {
                self.report(
                    at(&machine.hostname),
                    format!("{field}.hostname"),
                    format!(
                        "hostname `{}` is already used by {first}",
                        machine.hostname.value
                    ),
                    "every machine needs its own hostname",
                );
            }
            self.address_in(lab, &field, &machine.network, &machine.ip);
            self.mac(&format!("{field}.pxe_mac"), &machine.pxe_mac);
            for (disk_field, disk) in [
                ("install_disk", Some(&machine.install_disk)),
                ("data_disk", machine.data_disk.as_ref()),
            ] {
                if let Some(disk) = disk
                    && !disk.value.starts_with("/dev/")
                {
                    self.report(
                        at(disk),
                        format!("{field}.{disk_field}"),
                        format!("`{}` is not a device path", disk.value),
                        "write the disk's device path, e.g. /dev/nvme0n1",
                    );
                }
            }
            if let Some(data) = &machine.data_disk
                && data.value == machine.install_disk.value
            {
                self.report(
                    at(data),
                    format!("{field}.data_disk"),
                    "the data disk is the install disk",
                    "use the second disk for data, or remove `data_disk`",
                );
            }
        }
    }

    fn vms(&mut self, lab: &Lab) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut image_names: HashMap<&str, usize> = HashMap::new();
        for (index, image) in lab.vm_images.iter().enumerate() {
            self.http_url(&format!("vm_images[{index}].url"), &image.url);
            if let Some(first) = image_names.insert(&image.name.value, index) {
                self.report(
                    at(&image.name),
                    format!("vm_images[{index}].name"),
                    format!(
                        "image name `{}` is already used by vm_images[{first}]",
                        image.name.value
                    ),
                    "give every image its own name",
                );
            }
        }
        for (index, vm) in lab.vms.iter().enumerate() {
            let field = format!("vms[{index}]");
            self.hostname(&format!("{field}.name"), &vm.name);
            if let Some(first) = names.insert(&vm.name.value, index) {
                self.report(
                    at(&vm.name),
                    format!("{field}.name"),
                    format!(
                        "VM name `{}` is already used by vms[{first}]",
                        vm.name.value
                    ),
                    "every VM needs its own name",
                );
            }
            match lab.network(&vm.network.value) {
                None => self.unknown_network(lab, &format!("{field}.network"), &vm.network),
                Some(network) if !network.vm_attachable => self.report(
                    at(&vm.network),
                    format!("{field}.network"),
                    format!(
                        "network `{}` is not attachable by VMs ({})",
                        network.name.value, network.purpose
                    ),
                    "attach the VM to a network with `vm_attachable: true`, such as `platform`",
                ),
                Some(_) => {}
            }
            self.mac(&format!("{field}.mac"), &vm.mac);
            for (quantity_field, quantity) in [("memory", &vm.memory), ("disk", &vm.disk)] {
                if !is_binary_quantity(&quantity.value) {
                    self.report(
                        at(quantity),
                        format!("{field}.{quantity_field}"),
                        format!("`{}` is not a size such as 16Gi", quantity.value),
                        "write a number followed by Mi, Gi or Ti",
                    );
                }
            }
            if !image_names.contains_key(vm.image.value.as_str()) {
                let known: Vec<&str> = lab
                    .vm_images
                    .iter()
                    .map(|image| image.name.value.as_str())
                    .collect();
                self.report(
                    at(&vm.image),
                    format!("{field}.image"),
                    format!("unknown VM image `{}`", vm.image.value),
                    if known.is_empty() {
                        "define the image under `vm_images:`".to_owned()
                    } else {
                        format!("images defined in this file: {}", known.join(", "))
                    },
                );
            }
        }
    }

    /// MACs and IPs must be unique across everything in the lab.
    fn addresses(&mut self, lab: &Lab) {
        let mut macs: HashMap<String, String> = HashMap::new();
        let pairs = lab
            .machines
            .iter()
            .enumerate()
            .map(|(index, machine)| (format!("machines[{index}].pxe_mac"), &machine.pxe_mac))
            .chain(
                lab.vms
                    .iter()
                    .enumerate()
                    .map(|(index, vm)| (format!("vms[{index}].mac"), &vm.mac)),
            );
        for (field, mac) in pairs {
            let normalized = mac.value.to_ascii_lowercase().replace('-', ":");
            if let Some(first) = macs.insert(normalized, field.clone()) {
                self.report(
                    at(mac),
                    field,
                    format!("MAC {} is already used by {first}", mac.value),
                    "every NIC has its own MAC; copy it from the machine's label or BIOS",
                );
            }
        }
        let mut ips: HashMap<Ipv4Addr, String> = HashMap::new();
        let mut claim = |checker: &mut Self, field: String, ip: &Spanned<Ipv4Addr>| {
            if let Some(first) = ips.insert(ip.value, field.clone()) {
                checker.report(
                    at(ip),
                    field,
                    format!("IP {} is already used by {first}", ip.value),
                    "every host, BMC and the VIP need distinct addresses",
                );
            }
        };
        claim(self, "platform_node.ip".to_owned(), &lab.platform_node.ip);
        claim(
            self,
            "endpoints.harvester.vip".to_owned(),
            &lab.endpoints.harvester.vip,
        );
        for (index, machine) in lab.machines.iter().enumerate() {
            claim(self, format!("machines[{index}].ip"), &machine.ip);
            claim(
                self,
                format!("machines[{index}].bmc.address"),
                &machine.bmc.address,
            );
        }
    }

    fn hostname(&mut self, field: &str, name: &Spanned<String>) {
        let value = &name.value;
        let valid = !value.is_empty()
            && value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if !valid {
            self.report(
                at(name),
                field,
                format!("`{value}` is not a valid host name"),
                "use lowercase letters, digits and `-` (at most 63, not starting or ending with `-`)",
            );
        }
    }

    fn mac(&mut self, field: &str, mac: &Spanned<String>) {
        let octets: Vec<&str> = mac.value.split([':', '-']).collect();
        let well_formed = octets.len() == 6
            && octets
                .iter()
                .all(|octet| octet.len() == 2 && octet.chars().all(|c| c.is_ascii_hexdigit()));
        if !well_formed {
            self.report(
                at(mac),
                field,
                format!("`{}` is not a MAC address", mac.value),
                "write six hexadecimal pairs separated by `:`, e.g. 02:00:00:0a:0a:0b (quote it in YAML)",
            );
        } else if u8::from_str_radix(octets[0], 16).is_ok_and(|first| first & 1 == 1) {
            self.report(
                at(mac),
                field,
                format!("{} is a multicast MAC, not a NIC's address", mac.value),
                "copy the NIC's unicast MAC (its first octet is even)",
            );
        }
    }
}

fn is_binary_quantity(value: &str) -> bool {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["Mi", "Gi", "Ti"].contains(&unit)
}
