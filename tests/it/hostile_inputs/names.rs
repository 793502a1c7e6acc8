//! Hostile-input cases: parser abuse and Kubernetes names.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        // ---- Unsafe input files: FIFOs, devices, directories, unbounded sizes.
        Case {
            name: "--lab /dev/zero",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--lab", "/dev/zero"],
            code: 2,
            expect: &["/dev/zero: this is a character device, not a regular file"],
        },
        Case {
            name: "--lab /dev/zero in plan",
            setup: Setup::Custom(|_| {}),
            args: &["plan", "--offline", "--lab", "/dev/zero"],
            code: 2,
            expect: &["/dev/zero: this is a character device, not a regular file"],
        },
        Case {
            name: "--lab /dev/urandom",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--lab", "/dev/urandom"],
            code: 2,
            expect: &["/dev/urandom: this is a character device, not a regular file"],
        },
        Case {
            name: "lab file is a FIFO",
            setup: Setup::Custom(|dir| {
                std::fs::remove_file(dir.join(LAB)).expect("remove");
                mkfifo(&dir.join(LAB));
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: this is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "lab file is a symlink to a FIFO",
            setup: Setup::Custom(|dir| {
                mkfifo(&dir.join("pipe"));
                std::fs::remove_file(dir.join(LAB)).expect("remove");
                std::os::unix::fs::symlink(dir.join("pipe"), dir.join(LAB)).expect("symlink");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: this is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "lab path is a directory",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--lab", "phases"],
            code: 2,
            expect: &["phases: this is a directory, not a regular file"],
        },
        Case {
            name: "lab file larger than 4 MiB",
            setup: Setup::Custom(|dir| {
                let mut text = std::fs::read_to_string(dir.join(LAB)).expect("lab");
                text.push_str(&format!("# {}\n", "x".repeat(5 * 1024 * 1024)));
                std::fs::write(dir.join(LAB), text).expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: larger than the 4194304-byte limit for an input file"],
        },
        Case {
            name: "lab file not UTF-8",
            setup: Setup::Custom(|dir| {
                std::fs::write(dir.join(LAB), b"schema: 1\nname: \xff\xfe\n").expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: not UTF-8 text"],
        },
        Case {
            name: "lab file holds a NUL byte",
            setup: write(LAB, "schema: 1\nname: \"a\0b\"\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "phase file is a FIFO",
            setup: Setup::Custom(|dir| mkfifo(&dir.join("phases/phase-9.yaml"))),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-9.yaml: this is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "phase file is a symlink to /dev/zero",
            setup: Setup::Custom(|dir| {
                std::os::unix::fs::symlink("/dev/zero", dir.join("phases/phase-9.yaml"))
                    .expect("symlink");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-9.yaml: this is a character device, not a regular file"],
        },
        Case {
            name: "phase entry is a directory",
            setup: Setup::Custom(|dir| {
                std::fs::create_dir(dir.join("phases/phase-9.yaml")).expect("mkdir");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-9.yaml: this is a directory, not a regular file"],
        },
        Case {
            name: "--phases is a device",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--phases", "/dev/null"],
            code: 2,
            expect: &["/dev/null: cannot read the phases directory"],
        },
        Case {
            name: "template path leaves the phases directory",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: ../secrets.yaml}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[install-template].params.template: `../secrets.yaml` leaves the phases directory (`..`)",
            ],
        },
        Case {
            name: "template path is absolute",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: /etc/passwd}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[install-template].params.template: `/etc/passwd` is absolute"],
        },
        Case {
            name: "template is a symlink to the secrets file",
            setup: Setup::Custom(|dir| {
                let template = dir.join("phases/templates/harvester-install.yaml");
                std::fs::remove_file(&template).expect("remove");
                std::os::unix::fs::symlink("../../secrets.yaml", &template).expect("symlink");
            }),
            args: PLAN,
            code: 2,
            expect: &[
                "`templates/harvester-install.yaml` resolves to",
                "outside the phases directory",
            ],
        },
        Case {
            name: "template directory is a symlink out of the phases directory",
            setup: Setup::Custom(|dir| {
                let templates = dir.join("phases/templates");
                std::fs::rename(&templates, dir.join("elsewhere")).expect("move");
                std::os::unix::fs::symlink("../elsewhere", &templates).expect("symlink");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["outside the phases directory"],
        },
        Case {
            name: "template is a FIFO",
            setup: Setup::Custom(|dir| {
                let template = dir.join("phases/templates/harvester-install.yaml");
                std::fs::remove_file(&template).expect("remove");
                mkfifo(&template);
            }),
            args: VALIDATE,
            code: 2,
            expect: &["is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "template is a directory",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: templates}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["is a directory, not a regular file"],
        },
        Case {
            name: "template file missing",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: templates/nope.yaml}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[install-template].params.template: cannot read",
                "nope.yaml",
            ],
        },
        // ---- Parser abuse.
        Case {
            name: "alias bomb",
            setup: write(
                LAB,
                "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "deeply nested flow sequences",
            setup: Setup::Custom(|dir| {
                let depth = 100_000;
                let text = format!("schema: {}{}\n", "[".repeat(depth), "]".repeat(depth));
                std::fs::write(dir.join(LAB), text).expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "duplicate key",
            setup: replace(
                LAB,
                "name: reference-lab\n",
                "name: reference-lab\nname: other\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml:"],
        },
        Case {
            name: "unknown field suggests the nearest one",
            setup: replace(
                LAB,
                "    pxe_mac: \"02:00:00:0a:0a:0c\"",
                "    pxe_macc: \"02:00:00:0a:0a:0c\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["unknown field `pxe_macc`", "did you mean `pxe_mac`?"],
        },
        Case {
            name: "unknown step field suggests the nearest one",
            setup: replace(PHASE3, "    timeout: 30m\n", "    timeot: 30m\n"),
            args: VALIDATE,
            code: 2,
            expect: &["unknown field `timeot`", "did you mean `timeout`?"],
        },
        // ---- Kubernetes names.
        Case {
            name: "Tinkerbell namespace with uppercase and underscore",
            setup: replace(LAB, "namespace: tink-system", "namespace: Tink_System"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml:39:16: endpoints.tinkerbell.namespace: `Tink_System` is not a valid Kubernetes namespace: the uppercase letter `T` is not allowed",
            ],
        },
        Case {
            name: "Argo CD namespace with a dot",
            setup: replace(LAB, "    namespace: argocd\n", "    namespace: argo.cd\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.namespace: `argo.cd` is not a valid Kubernetes namespace: `.` is not allowed",
            ],
        },
        Case {
            name: "namespace longer than 63",
            setup: replace(
                LAB,
                "    namespace: argocd\n",
                "    namespace: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.namespace: `aaaa",
                "is 64 characters long, more than 63",
            ],
        },
        Case {
            name: "namespace ending with a dash",
            setup: replace(LAB, "namespace: tink-system", "namespace: tink-"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.tinkerbell.namespace: `tink-` is not a valid Kubernetes namespace: it starts or ends with `-`",
            ],
        },
        Case {
            name: "VM image name Talos_NoCloud",
            setup: Setup::Custom(|dir| {
                let path = dir.join(LAB);
                let text = std::fs::read_to_string(&path).expect("lab");
                std::fs::write(path, text.replace("talos-nocloud", "Talos_NoCloud"))
                    .expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &[
                "vm_images[0].name: `Talos_NoCloud` is not a valid Kubernetes object name (a Harvester VirtualMachineImage)",
            ],
        },
        Case {
            name: "VM image namespace with a space",
            setup: replace(
                LAB,
                "  - name: talos-nocloud\n    namespace: default",
                "  - name: talos-nocloud\n    namespace: \"my ns\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "vm_images[0].namespace: `my ns` is not a valid Kubernetes namespace: a space is not allowed",
            ],
        },
        Case {
            name: "VM namespace Default",
            setup: replace(
                LAB,
                "  - name: cp-2\n    namespace: default",
                "  - name: cp-2\n    namespace: Default",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].namespace: `Default` is not a valid Kubernetes namespace"],
        },
        Case {
            name: "Argo CD Secret name with spaces and a slash",
            setup: replace(
                LAB,
                "secret_name: harvester",
                "secret_name: \"my lab/harvester\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.secret_name: `my lab/harvester` is not a valid Secret name",
            ],
        },
        Case {
            name: "Argo CD cluster name with spaces and a slash, naming the Secret",
            setup: Setup::Custom(|dir| {
                // Without `secret_name` the Secret is named after the cluster.
                let path = dir.join(LAB);
                let text = std::fs::read_to_string(&path).expect("read lab");
                let text = text
                    .replacen(
                        "    cluster_name: harvester\n",
                        "    cluster_name: \"my lab/harvester\"\n",
                        1,
                    )
                    .replacen("    secret_name: harvester\n", "", 1);
                std::fs::write(&path, text).expect("write lab");
            }),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.cluster_name: `my lab/harvester` cannot name Argo CD's cluster Secret",
            ],
        },
        Case {
            name: "Harvester hostname with a space",
            setup: replace(
                LAB,
                "hostname: harvester.lab.local",
                "hostname: \"harvester lab\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.hostname: `harvester lab` is not a DNS name"],
        },
        Case {
            name: "network name with uppercase",
            setup: replace(LAB, "  - name: storage\n", "  - name: Storage_Net\n"),
            args: VALIDATE,
            code: 2,
            expect: &["networks[3].name: `Storage_Net` is not a valid network name"],
        },
        Case {
            name: "namespace literal in a phase file",
            setup: replace(
                PHASE4,
                "      namespace: default\n      name: platform",
                "      namespace: Default\n      name: platform",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-4.yaml:",
                "params.namespace: `Default` is not a valid Kubernetes namespace",
            ],
        },
        Case {
            name: "object name literal in a phase file",
            setup: replace(
                PHASE4,
                "      namespace: default\n      name: platform",
                "      namespace: default\n      name: Platform_VLAN",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["params.name: `Platform_VLAN` is not a valid Kubernetes object name"],
        },
        Case {
            name: "Harvester version that breaks the Template's name",
            setup: replace(
                LAB,
                "    version: v1.7.0\n",
                "    version: \"V1.7.0 final\"\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[install-template].params.name: `harvester-install-V1.7.0 final` is not a valid Kubernetes object name",
            ],
        },
    ]
}
