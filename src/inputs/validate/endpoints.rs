//! The lab checker's checks of endpoints: the Harvester VIP and API, the Platform cluster,
//! Argo CD, PXE and artifacts.

use std::collections::HashMap;

use serde_saphyr::Spanned;

use crate::actions::tinkerbell::{DISK_IMAGE_ROLE, disk_image_compressed};
use crate::inputs::lab::{Lab, is_dns_subdomain, label_problem};

use super::checker::{LabChecker, relative_to};
use super::rules::{dns_subdomain_problem, reserved_address};
use super::spans::{at, place};

impl LabChecker<'_> {
    pub(crate) fn endpoints(&mut self, lab: &Lab) {
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

    pub(crate) fn http_url(&mut self, field: &str, url: &Spanned<String>) {
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
}
