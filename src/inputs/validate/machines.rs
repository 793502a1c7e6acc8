//! The lab checker's checks of machines and VMs: hostnames, MACs, addresses, disks, images.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde_saphyr::Spanned;

use crate::inputs::lab::{Lab, Role};

use super::checker::LabChecker;
use super::rules::{
    MacProblem, binary_quantity, device_path_problem, interface_problem, normalize_mac,
};
use super::spans::{at, place};

impl LabChecker<'_> {
    pub(crate) fn machines(&mut self, lab: &Lab) {
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

    pub(crate) fn vms(&mut self, lab: &Lab) {
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
    pub(crate) fn addresses(&mut self, lab: &Lab) {
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
