//! Hostile-input cases: MACs, ports, sizes, addresses, disks and interfaces, control characters, typed step parameters, the quorum.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        // ---- MACs.
        Case {
            name: "MAC with dashes is normalised",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"02-00-00-0A-0A-0C\""),
            args: PLAN,
            code: 0,
            expect: &["MAC 02:00:00:0a:0a:0c"],
        },
        Case {
            name: "uppercase MAC is a duplicate of a lowercase one",
            setup: replace(LAB, "\"02:00:00:0a:0a:0d\"", "\"02:00:00:0A:0A:0B\""),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[2].pxe_mac: MAC 02:00:00:0A:0A:0B is already used by machines[0].pxe_mac",
            ],
        },
        Case {
            name: "MAC with mixed separators",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"02:00-00:0a-0a:0c\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `02:00-00:0a-0a:0c` mixes `:` and `-` separators"],
        },
        Case {
            name: "all-zero MAC",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"00:00:00:00:00:00\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `00:00:00:00:00:00` is the all-zero MAC"],
        },
        Case {
            name: "broadcast MAC",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"ff:ff:ff:ff:ff:ff\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `ff:ff:ff:ff:ff:ff` is a multicast (or broadcast) MAC"],
        },
        Case {
            name: "MAC with seven octets",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"02:00:00:0a:0a:0c:0d\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `02:00:00:0a:0a:0c:0d` is not a MAC address"],
        },
        Case {
            name: "MAC in dotted form",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"0200.000a.0a0c\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `0200.000a.0a0c` is not a MAC address"],
        },
        Case {
            name: "multicast VM MAC",
            setup: replace(LAB, "\"52:54:00:0a:1e:03\"", "\"53:54:00:0a:1e:03\""),
            args: VALIDATE,
            code: 2,
            expect: &["vms[1].mac: `53:54:00:0a:1e:03` is a multicast (or broadcast) MAC"],
        },
        // ---- Ports.
        Case {
            name: "API port 0",
            setup: replace(LAB, "api_port: 6443", "api_port: 0"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml:45:15: endpoints.harvester.api_port: port 0 is not a port one can connect to",
            ],
        },
        Case {
            name: "SSH port 0",
            setup: replace(LAB, "api_port: 6443", "api_port: 6443\n    ssh_port: 0"),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.ssh_port: port 0 is not a port one can connect to"],
        },
        Case {
            name: "BMC port 0",
            setup: replace(
                LAB,
                "{address: 10.10.10.112, protocol: intel-amt}",
                "{address: 10.10.10.112, protocol: intel-amt, port: 0}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].bmc.port: port 0 is not a port one can connect to"],
        },
        Case {
            name: "API port 65536",
            setup: replace(LAB, "api_port: 6443", "api_port: 65536"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml:45:"],
        },
        Case {
            name: "metadata URL with port 0",
            setup: replace(
                LAB,
                "metadata_url: http://10.10.10.10:7080",
                "metadata_url: http://10.10.10.10:0",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.tinkerbell.metadata_url: `http://10.10.10.10:0` names port 0"],
        },
        // ---- Sizes.
        Case {
            name: "VM with 0 CPU cores",
            setup: replace(
                LAB,
                "    cpu_cores: 4\n    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    cpu_cores: 0\n    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].cpu_cores: a VM with 0 CPU cores cannot start"],
        },
        Case {
            name: "VM with 0Gi memory",
            setup: replace(
                LAB,
                "    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    memory: 0Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].memory: `0Gi` is zero"],
        },
        Case {
            name: "VM with a 0Mi disk",
            setup: replace(
                LAB,
                "    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    disk: 0Mi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].disk: `0Mi` is zero"],
        },
        Case {
            name: "VM memory too large to count",
            setup: replace(
                LAB,
                "    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    memory: 99999999999999999999Ti\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].memory: `99999999999999999999Ti` is too large"],
        },
        Case {
            name: "artifact of 0 bytes",
            setup: replace(
                LAB,
                "        file: harvester-v1.7.0-amd64.raw.zst\n",
                "        file: harvester-v1.7.0-amd64.raw.zst\n        size: 0\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.pxe.artifacts[0].size: an expected size of 0 bytes"],
        },
        // ---- Addresses.
        Case {
            name: "VIP is the network address",
            setup: replace(LAB, "vip: 10.10.10.20 ", "vip: 10.10.10.0 "),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.harvester.vip: VIP 10.10.10.0 is the network address of network `mgmt`",
            ],
        },
        Case {
            name: "VIP is the broadcast address",
            setup: replace(LAB, "vip: 10.10.10.20 ", "vip: 10.10.10.255 "),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.harvester.vip: VIP 10.10.10.255 is the broadcast address of network `mgmt`",
            ],
        },
        Case {
            name: "VIP is the gateway",
            setup: replace(LAB, "vip: 10.10.10.20 ", "vip: 10.10.10.1 "),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.vip: VIP 10.10.10.1 is the gateway of network `mgmt`"],
        },
        Case {
            name: "machine IP is the gateway",
            setup: replace(LAB, "    ip: 10.10.10.12 ", "    ip: 10.10.10.1 "),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].ip: 10.10.10.1 is the gateway of network `mgmt`"],
        },
        Case {
            name: "gateway is the network address",
            setup: replace(LAB, "gateway: 10.10.30.1", "gateway: 10.10.30.0"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "networks[1].gateway: gateway 10.10.30.0 is the network or broadcast address of 10.10.30.0/24",
            ],
        },
        Case {
            name: "DNS server 0.0.0.0",
            setup: replace(LAB, "dns_servers: [10.10.10.1]", "dns_servers: [0.0.0.0]"),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.dns_servers[0]: 0.0.0.0 is not a DNS server's address"],
        },
        Case {
            name: "DNS server is the broadcast address",
            setup: replace(
                LAB,
                "dns_servers: [10.10.10.1]",
                "dns_servers: [255.255.255.255]",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.harvester.dns_servers[0]: 255.255.255.255 is not a DNS server's address",
            ],
        },
        // ---- Disks and interfaces.
        Case {
            name: "install disk escapes /dev",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: /dev/../etc/passwd\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `/dev/../etc/passwd` is not a device path: it has a `.` or `..` component",
            ],
        },
        Case {
            name: "install disk is /dev/ itself",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: /dev/\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `/dev/` is not a device path: it names /dev/ itself",
            ],
        },
        Case {
            name: "data disk with a double slash",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev//nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].data_disk: `/dev//nvme1n1` is not a device path: it has an empty component",
            ],
        },
        Case {
            name: "relative install disk",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `nvme0n1` is not a device path: it is not below /dev/",
            ],
        },
        Case {
            name: "install disk with a space",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: \"/dev/nvme0n1 p1\"\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `/dev/nvme0n1 p1` is not a device path: it contains whitespace",
            ],
        },
        Case {
            name: "interface name with a slash",
            setup: replace(
                LAB,
                "    network: mgmt\n    ip: 10.10.10.12 ",
                "    network: mgmt\n    interface: eth0/1\n    ip: 10.10.10.12 ",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].interface: `eth0/1` is not a network interface name"],
        },
        Case {
            name: "interface name longer than 15",
            setup: replace(
                LAB,
                "    network: mgmt\n    ip: 10.10.10.12 ",
                "    network: mgmt\n    interface: enp1s0f0np0abcdef\n    ip: 10.10.10.12 ",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[1].interface: `enp1s0f0np0abcdef` is not a network interface name: it must be 1 to 15 characters long",
            ],
        },
        // ---- Terminal control characters in the lab's text.
        Case {
            name: "escape sequence in the lab's name",
            setup: replace(LAB, "name: reference-lab\n", "name: \"lab\\e[31m red\"\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml:10:7: name: the lab's name contains a control character"],
        },
        Case {
            name: "newline in the lab's name",
            setup: replace(
                LAB,
                "name: reference-lab\n",
                "name: \"lab\\nFAKE: all good\"\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["name: the lab's name spans more than one line"],
        },
        Case {
            name: "escape sequence in a network's purpose",
            setup: replace(
                LAB,
                "purpose: Harvester host management",
                "purpose: \"\\e]0;owned\\a\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["networks[0].purpose: contains a control character"],
        },
        // ---- Step parameters typed by their kind.
        Case {
            name: "namespace is a list of numbers",
            setup: replace(
                PHASE2,
                "namespace: ${lab.endpoints.argocd.namespace}",
                "namespace: [1, 2]",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-2.yaml:",
                "steps[argocd].params.namespace: step `argocd` (kind `argocd.present`): parameter `namespace` is a list: invalid type: sequence, expected a string",
            ],
        },
        Case {
            name: "quorum nodes is text",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: three",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: step `quorum` (kind `harvester.quorum`): parameter `nodes` is text: invalid type: string \"three\"",
            ],
        },
        Case {
            name: "VLAN is text",
            setup: replace(PHASE4, "vlan: ${networks.platform.vlan}", "vlan: ten"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "params.vlan: step `vm-network` (kind `harvester.vm-network`): parameter `vlan` is text",
            ],
        },
        Case {
            name: "artifacts is a number",
            setup: replace(
                PHASE2,
                "artifacts: ${lab.endpoints.pxe.artifacts}",
                "artifacts: 5",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "params.artifacts: step `pxe-artifacts` (kind `http.artifacts`): parameter `artifacts` is a number: invalid type: integer `5`, expected a sequence",
            ],
        },
        Case {
            name: "insecure_tls is text",
            setup: replace(
                PHASE3,
                "insecure_tls: ${machine.bmc.insecure_tls}",
                "insecure_tls: \"yes\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[bmc].params.insecure_tls: step `bmc` (kind `rufio.machine`): parameter `insecure_tls` is text: invalid type: string \"yes\", expected a boolean",
            ],
        },
        Case {
            name: "api_port is a mapping",
            setup: replace(
                PHASE3,
                "api_port: ${lab.endpoints.harvester.api_port}",
                "api_port: {port: 6443}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[harvester-api].params.api_port: step `harvester-api` (kind `harvester.api`): parameter `api_port` is a mapping",
            ],
        },
        Case {
            name: "a secret where text is expected",
            setup: replace(
                PHASE3,
                "      ssh_user: rancher\n",
                "      ssh_user: {secret: ssh.private_key}\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[harvester-api].params.ssh_user: step `harvester-api` (kind `harvester.api`): parameter `ssh_user` is a mapping",
            ],
        },
        Case {
            name: "params is a list",
            setup: replace(
                PHASE3,
                "    params:\n      nodes: ${inventory.control_plane_nodes}",
                "    params: [3]",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].params: params must be a mapping"],
        },
        // ---- The quorum and the lab's machines.
        Case {
            name: "constant quorum of three with two machines",
            setup: Setup::Custom(|dir| {
                two_machines(dir);
                let path = dir.join(PHASE3);
                let text = std::fs::read_to_string(&path).expect("phase 3");
                std::fs::write(
                    path,
                    text.replace("nodes: ${inventory.control_plane_nodes}", "nodes: 3"),
                )
                .expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: a quorum of 3 control-plane nodes cannot be reached: the lab has 2 machines, and Harvester runs 1 control-plane node with that many",
            ],
        },
        Case {
            name: "derived quorum with two machines",
            setup: Setup::Custom(two_machines),
            args: PLAN,
            code: 0,
            expect: &[
                "watch Harvester Nodes until 1 are Ready with the control-plane and etcd roles",
            ],
        },
        Case {
            name: "quorum of four",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: 4",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: a quorum of 4 control-plane nodes cannot be reached: the lab has 3 machines, and Harvester runs 3 control-plane nodes",
            ],
        },
        Case {
            name: "quorum of zero",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: 0",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: a quorum of 0 control-plane nodes cannot be reached",
            ],
        },
        Case {
            name: "unknown inventory count",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: ${inventory.nodes}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[quorum].params.nodes: `inventory` has no `nodes`"],
        },
    ]
}
