//! Semantic checks of the lab inventory: everything that parses but cannot be right.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::lab::{Lab, Network, Role, is_dns_subdomain, label_problem};
use crate::actions::tinkerbell::{DISK_IMAGE_ROLE, disk_image_compressed};

/// Line and column of a spanned value.
pub fn at<T>(spanned: &Spanned<T>) -> (u64, u64) {
    (spanned.referenced.line(), spanned.referenced.column())
}

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

/// Where a field of the lab is, for the fields [`Lab`] holds without a position. Parsed from
/// the same text as the lab (which has parsed), every field optional, so it never fails where
/// the lab did not.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LabSpans {
    name: Place,
    endpoints: EndpointSpans,
    machines: Vec<MachineSpans>,
    vm_images: Vec<ImageSpans>,
    vms: Vec<VmSpans>,
}

type Place = Option<Spanned<IgnoredAny>>;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EndpointSpans {
    tinkerbell: NamespaceSpans,
    argocd: ArgocdSpans,
    harvester: HarvesterSpans,
    pxe: PxeSpans,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NamespaceSpans {
    namespace: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ArgocdSpans {
    namespace: Place,
    cluster_name: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HarvesterSpans {
    hostname: Place,
    api_port: Place,
    ssh_port: Place,
    version: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PxeSpans {
    artifacts: Vec<ArtifactSpans>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ArtifactSpans {
    size: Place,
    file: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MachineSpans {
    interface: Place,
    bmc: BmcSpans,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BmcSpans {
    port: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImageSpans {
    namespace: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VmSpans {
    namespace: Place,
    cpu_cores: Place,
}

fn place(place: &Place) -> (u64, u64) {
    place.as_ref().map_or((0, 0), at)
}

struct LabChecker<'a> {
    file: &'a Path,
    spans: LabSpans,
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

    fn namespace(&mut self, position: (u64, u64), field: &str, value: &str) {
        if let Some(problem) = dns_label_problem(value) {
            self.report(
                position,
                field,
                format!("`{value}` is not a valid Kubernetes namespace: {problem}"),
                "a namespace is an RFC 1123 label: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit (e.g. tink-system)",
            );
        }
    }

    fn object_name(&mut self, position: (u64, u64), field: &str, value: &str, what: &str) {
        if let Some(problem) = dns_subdomain_problem(value) {
            self.report(
                position,
                field,
                format!("`{value}` is not a valid Kubernetes object name ({what}): {problem}"),
                "an object name is an RFC 1123 subdomain: lowercase letters, digits, `-` and `.`, at most 253, each part starting and ending with a letter or digit (e.g. talos-nocloud)",
            );
        }
    }

    fn port(&mut self, position: (u64, u64), field: &str, port: u16) {
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
            Some(network) => {
                if let Some(what) = reserved_address(network, harvester.vip.value) {
                    self.report(
                        at(&harvester.vip),
                        "endpoints.harvester.vip",
                        format!(
                            "VIP {} is the {what} of network `{}` ({})",
                            harvester.vip.value, network.name.value, network.subnet.value
                        ),
                        "the VIP must be a free host address of the management network",
                    );
                }
            }
        }
        let spans = &self.spans.endpoints;
        let positions = (
            place(&spans.tinkerbell.namespace),
            place(&spans.argocd.namespace),
            place(&spans.argocd.cluster_name),
            place(&spans.harvester.hostname),
            place(&spans.harvester.api_port),
            place(&spans.harvester.ssh_port),
        );
        self.namespace(
            positions.0,
            "endpoints.tinkerbell.namespace",
            &lab.endpoints.tinkerbell.namespace,
        );
        self.namespace(
            positions.1,
            "endpoints.argocd.namespace",
            &lab.endpoints.argocd.namespace,
        );
        let cluster_name = &lab.endpoints.argocd.cluster_name;
        if lab.endpoints.argocd.secret_name.is_none()
            && let Some(problem) = dns_subdomain_problem(cluster_name)
        {
            self.report(
                positions.2,
                "endpoints.argocd.cluster_name",
                format!(
                    "`{cluster_name}` cannot name Argo CD's cluster Secret (without `secret_name` the Secret is named after the cluster): {problem}"
                ),
                "use lowercase letters, digits, `-` and `.` (e.g. harvester), or set `endpoints.argocd.secret_name`",
            );
        }
        if let Some(problem) = dns_subdomain_problem(&harvester.hostname) {
            self.report(
                positions.3,
                "endpoints.harvester.hostname",
                format!("`{}` is not a DNS name: {problem}", harvester.hostname),
                "write the DNS name the Harvester API's certificate is for, e.g. harvester.lab.local",
            );
        }
        self.port(
            positions.4,
            "endpoints.harvester.api_port",
            harvester.api_port,
        );
        self.port(
            positions.5,
            "endpoints.harvester.ssh_port",
            harvester.ssh_port,
        );
        for (index, server) in harvester.dns_servers.iter().enumerate() {
            if server.value.is_unspecified()
                || server.value.is_broadcast()
                || server.value.is_multicast()
            {
                self.report(
                    at(server),
                    format!("endpoints.harvester.dns_servers[{index}]"),
                    format!("{} is not a DNS server's address", server.value),
                    "write the unicast address of a DNS resolver the nodes can reach",
                );
            }
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
            if artifact.size == Some(0) {
                let position = self
                    .spans
                    .endpoints
                    .pxe
                    .artifacts
                    .get(index)
                    .map_or((0, 0), |spans| place(&spans.size));
                self.report(
                    position,
                    format!("{field}.size"),
                    "an expected size of 0 bytes: a boot artifact is never empty",
                    "write the size `ls -l` prints for the file, or remove `size`",
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
                if matches!(parsed.scheme(), "http" | "https")
                    && parsed.host().is_some()
                    && parsed.port() == Some(0) =>
            {
                self.report(
                    at(url),
                    field,
                    format!("`{}` names port 0", url.value),
                    "write the server's port (1–65535), or leave it out for the scheme's default",
                );
            }
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
                    && let Some(problem) = device_path_problem(&disk.value)
                {
                    self.report(
                        at(disk),
                        format!("{field}.{disk_field}"),
                        format!("`{}` is not a device path: {problem}", disk.value),
                        "write the disk's canonical device path, e.g. /dev/nvme0n1 or /dev/disk/by-id/<id>",
                    );
                }
            }
            let (port_at, interface_at) = self
                .spans
                .machines
                .get(index)
                .map_or(((0, 0), (0, 0)), |spans| {
                    (place(&spans.bmc.port), place(&spans.interface))
                });
            if let Some(port) = machine.bmc.port {
                self.port(port_at, &format!("{field}.bmc.port"), port);
            }
            if let Some(interface) = &machine.interface
                && let Some(problem) = interface_problem(interface)
            {
                let position = interface_at;
                self.report(
                    position,
                    format!("{field}.interface"),
                    format!("`{interface}` is not a network interface name: {problem}"),
                    "write the Linux interface name, e.g. enp1s0 (at most 15 characters, no `/` or spaces)",
                );
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
            self.object_name(
                at(&image.name),
                &format!("vm_images[{index}].name"),
                &image.name.value,
                "a Harvester VirtualMachineImage",
            );
            let position = self
                .spans
                .vm_images
                .get(index)
                .map_or((0, 0), |spans| place(&spans.namespace));
            self.namespace(
                position,
                &format!("vm_images[{index}].namespace"),
                &image.namespace,
            );
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
            let spans = self.spans.vms.get(index);
            let (namespace_at, cores_at) = spans.map_or(((0, 0), (0, 0)), |spans| {
                (place(&spans.namespace), place(&spans.cpu_cores))
            });
            self.namespace(namespace_at, &format!("{field}.namespace"), &vm.namespace);
            if vm.cpu_cores == 0 {
                self.report(
                    cores_at,
                    format!("{field}.cpu_cores"),
                    "a VM with 0 CPU cores cannot start",
                    "give the VM at least 1 core (the reference control-plane VMs have 4)",
                );
            }
            for (quantity_field, quantity) in [("memory", &vm.memory), ("disk", &vm.disk)] {
                match binary_quantity(&quantity.value) {
                    None => self.report(
                        at(quantity),
                        format!("{field}.{quantity_field}"),
                        format!("`{}` is not a size such as 16Gi", quantity.value),
                        "write a number followed by Mi, Gi or Ti",
                    ),
                    Some(Err(problem)) => self.report(
                        at(quantity),
                        format!("{field}.{quantity_field}"),
                        format!("`{}` {problem}", quantity.value),
                        "write a size greater than zero, such as 16Gi",
                    ),
                    Some(Ok(_)) => {}
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
            let normalized =
                normalize_mac(&mac.value).unwrap_or_else(|_| mac.value.to_ascii_lowercase());
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
        if let Err(problem) = normalize_mac(&mac.value) {
            let help = match problem {
                MacProblem::Malformed => {
                    "write six hexadecimal pairs separated by `:`, e.g. 02:00:00:0a:0a:0b (quote it in YAML)"
                }
                MacProblem::MixedSeparators => {
                    "separate the six pairs all by `:` (or all by `-`), e.g. 02:00:00:0a:0a:0b"
                }
                MacProblem::Zero => "copy the NIC's MAC from the machine's label or BIOS",
                MacProblem::Multicast => "copy the NIC's unicast MAC (its first octet is even)",
            };
            self.report(at(mac), field, format!("`{}` {problem}", mac.value), help);
        }
    }
}

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
fn display_text_problem(value: &str) -> Option<&'static str> {
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
fn control_characters(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
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
fn reserved_address(network: &Network, address: Ipv4Addr) -> Option<&'static str> {
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
fn interface_problem(name: &str) -> Option<&'static str> {
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
