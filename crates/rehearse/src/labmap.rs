//! An operator's lab moved onto loopback, for any lab file (not only the shipped one).
//!
//! What genesis contacts during a run is reached on this machine instead:
//! - every address of the Harvester management network (`endpoints.harvester.network`) moves
//!   into 127.0.0.0/8 by its host part: host `h` of the subnet becomes `127.0.0.0 + h` (so
//!   `10.10.10.13` of a /24 becomes `127.0.0.13`), wherever it is written (addresses, URLs, DNS
//!   servers); the subnet becomes `127.0.0.0/8`;
//! - the VIP becomes `127.0.0.1` (the world's Harvester API server's certificate covers it and
//!   `localhost`, the new `endpoints.harvester.hostname`), `api_port` that server's port, and
//!   `ssh_port` the port of a relay to the world's sshd listening at the first node's address;
//!   an address that would land on `127.0.0.1` without being the VIP (a gateway `.1`) moves to
//!   `127.255.255.254`;
//! - the URLs of the PXE artifacts and VM images point at a local file server, keeping their
//!   paths; the artifacts' `size` and `sha256` become those of the served stand-in files.
//!
//! Addresses of other networks are left as they are: nothing in a rehearsal connects to them
//! (VMs take their addresses from the simulated DHCP, BMCs are simulated).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use crate::Error;
use crate::serve::sha256_hex;

/// The VIP on loopback: the world's Harvester API server answers there.
pub const VIP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// Where an address that would land on the VIP goes instead.
const MOVED: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 254);

/// How the management network's addresses move onto loopback.
#[derive(Debug, Clone)]
pub struct AddressMap {
    network: Ipv4Net,
    vip: Ipv4Addr,
}

fn text<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, Error> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Lab(format!("the lab has no {pointer}")))
}

impl AddressMap {
    /// The map of `lab` (the lab file as JSON).
    pub fn of(lab: &Value) -> Result<Self, Error> {
        let network_name = text(lab, "/endpoints/harvester/network")?;
        let subnet = lab["networks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|network| network["name"] == network_name)
            .and_then(|network| network["subnet"].as_str())
            .ok_or_else(|| Error::Lab(format!("no subnet for network {network_name}")))?;
        let network: Ipv4Net = subnet
            .parse()
            .map_err(|_| Error::Lab(format!("subnet {subnet} is not an IPv4 network")))?;
        if network.prefix_len() < 8 {
            return Err(Error::Lab(format!(
                "subnet {subnet} is larger than 127.0.0.0/8: a rehearsal maps /8 or smaller"
            )));
        }
        let vip = text(lab, "/endpoints/harvester/vip")?
            .parse()
            .map_err(|_| Error::Lab("endpoints.harvester.vip is not an IPv4 address".into()))?;
        Ok(Self {
            network: network.trunc(),
            vip,
        })
    }

    /// Where `address` goes; `None` for an address outside the management network.
    pub fn map(&self, address: Ipv4Addr) -> Option<Ipv4Addr> {
        if address == self.vip {
            return Some(VIP);
        }
        if !self.network.contains(&address) {
            return None;
        }
        let host = u32::from(address) - u32::from(self.network.network());
        let mapped = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + host);
        Some(if mapped == VIP { MOVED } else { mapped })
    }

    /// `text` with every address of the management network in it mapped.
    pub fn map_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let token = &rest[..end];
            // A token glued to letters before it ("v1.7.0" in "harvester-v1.7.0") is no address.
            let glued = out.chars().last().is_some_and(|c| c.is_ascii_alphabetic());
            match token.parse::<Ipv4Addr>().ok().filter(|_| !glued) {
                Some(address) => match self.map(address) {
                    Some(mapped) => out.push_str(&mapped.to_string()),
                    None => out.push_str(token),
                },
                None => out.push_str(token),
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }
}

/// The address the first node (the machine with `role: create`) has on loopback: where the SSH
/// relay listens.
pub fn first_node_ip(lab: &Value, map: &AddressMap) -> Result<Ipv4Addr, Error> {
    let machine = lab["machines"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|machine| machine["role"] == "create")
        .ok_or_else(|| Error::Lab("no machine has role: create".into()))?;
    let ip: Ipv4Addr = machine["ip"]
        .as_str()
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| Error::Lab("the first machine has no IPv4 `ip`".into()))?;
    map.map(ip).ok_or_else(|| {
        Error::Lab(format!(
            "the first machine's ip {ip} is outside the Harvester network"
        ))
    })
}

fn url_path(url: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(url).map_err(|error| Error::Lab(format!("URL {url}: {error}")))?;
    Ok(parsed.path().trim_end_matches('/').to_owned())
}

/// The URL paths a rehearsal serves: each PXE artifact (below `endpoints.pxe.base_url`) and
/// each VM image, in the lab's order.
pub fn served_paths(lab: &Value) -> Result<Vec<String>, Error> {
    let base = url_path(text(lab, "/endpoints/pxe/base_url")?)?;
    let mut paths: Vec<String> = lab
        .pointer("/endpoints/pxe/artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|artifact| artifact["file"].as_str())
        .map(|file| format!("{base}/{file}"))
        .collect();
    for image in lab["vm_images"].as_array().into_iter().flatten() {
        if let Some(url) = image["url"].as_str() {
            paths.push(url_path(url)?);
        }
    }
    Ok(paths)
}

/// Where the rehearsal's servers are.
#[derive(Debug, Clone)]
pub struct Loopback<'a> {
    /// The world's Harvester API server's port.
    pub harvester_port: u16,
    /// The SSH relay's port at the first node's address.
    pub ssh_port: u16,
    /// The file server's root URL (`http://127.0.0.1:PORT`).
    pub files_root: &'a str,
    /// What the file server serves, by path.
    pub files: &'a HashMap<String, Vec<u8>>,
    /// Each machine's emulated Redfish BMC (address, port), when the world runs them: the
    /// machine's `bmc` becomes `{address, protocol: redfish, port, insecure_tls: true}`.
    pub bmcs: &'a HashMap<String, (Ipv4Addr, u16)>,
}

/// Where each machine's emulated BMC listens: its BMC address moved like every address of the
/// management network, or, for a BMC on another network, `127.254.0.N` (N: the machine's
/// place in the lab, from 1).
pub fn bmc_hosts(lab: &Value, map: &AddressMap) -> Vec<(String, Ipv4Addr)> {
    lab["machines"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(1u8..)
        .filter_map(|(machine, index)| {
            let name = machine["hostname"].as_str()?.to_owned();
            let host = machine["bmc"]["address"]
                .as_str()
                .and_then(|address| address.parse().ok())
                .and_then(|address| map.map(address))
                .unwrap_or(Ipv4Addr::new(127, 254, 0, index));
            Some((name, host))
        })
        .collect()
}

/// `lab` on loopback (see the module's documentation).
pub fn rewrite(lab: &Value, map: &AddressMap, loopback: &Loopback) -> Result<Value, Error> {
    let mut lab = map_strings(lab, map);
    let network_name = text(&lab, "/endpoints/harvester/network")?.to_owned();
    for network in lab["networks"].as_array_mut().into_iter().flatten() {
        if network["name"] == network_name.as_str() {
            network["subnet"] = json!("127.0.0.0/8");
        }
    }
    let harvester = &mut lab["endpoints"]["harvester"];
    harvester["vip"] = json!(VIP.to_string());
    harvester["hostname"] = json!("localhost");
    harvester["api_port"] = json!(loopback.harvester_port);
    harvester["ssh_port"] = json!(loopback.ssh_port);

    for machine in lab["machines"].as_array_mut().into_iter().flatten() {
        let name = machine["hostname"].as_str().unwrap_or_default().to_owned();
        if let Some((host, port)) = loopback.bmcs.get(&name) {
            machine["bmc"] = json!({"address": host.to_string(), "protocol": "redfish",
                                    "port": port, "insecure_tls": true});
        }
    }
    let base = url_path(text(&lab, "/endpoints/pxe/base_url")?)?;
    lab["endpoints"]["pxe"]["base_url"] = json!(format!("{}{base}", loopback.files_root));
    let served = |path: &str| {
        loopback
            .files
            .get(path)
            .ok_or_else(|| Error::Lab(format!("{path} is not served")))
    };
    if let Some(artifacts) = lab
        .pointer_mut("/endpoints/pxe/artifacts")
        .and_then(Value::as_array_mut)
    {
        for artifact in artifacts {
            let file = artifact["file"].as_str().unwrap_or_default().to_owned();
            let content = served(&format!("{base}/{file}"))?;
            artifact["size"] = json!(content.len());
            artifact["sha256"] = json!(sha256_hex(content));
        }
    }
    for image in lab["vm_images"].as_array_mut().into_iter().flatten() {
        let Some(url) = image["url"].as_str() else {
            continue;
        };
        let path = url_path(url)?;
        let content = served(&path)?;
        image["url"] = json!(format!("{}{path}", loopback.files_root));
        if image.get("sha256").is_some() {
            image["sha256"] = json!(sha256_hex(content));
        }
        if image.get("size").is_some() {
            image["size"] = json!(content.len());
        }
    }
    Ok(lab)
}

fn map_strings(value: &Value, map: &AddressMap) -> Value {
    match value {
        Value::String(text) => Value::String(map.map_text(text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, map)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, v)| (key.clone(), map_strings(v, map)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Value {
        json!({
            "networks": [
                {"name": "mgmt", "subnet": "10.20.0.0/16", "gateway": "10.20.0.1"},
                {"name": "vms", "subnet": "10.30.0.0/24", "gateway": "10.30.0.1"}
            ],
            "endpoints": {
                "tinkerbell": {"metadata_url": "http://10.20.1.10:7080"},
                "harvester": {"network": "mgmt", "vip": "10.20.0.20", "hostname": "h.example",
                              "api_port": 6443, "version": "v1.7.0", "dns_servers": ["10.20.0.1", "9.9.9.9"]},
                "pxe": {"base_url": "http://10.20.1.10:8080/harvester/v1.7.0",
                        "artifacts": [{"role": "disk-image", "file": "disk-v1.7.0.raw.zst"}]}
            },
            "machines": [
                {"hostname": "a", "role": "join", "ip": "10.20.3.12",
                 "bmc": {"address": "10.20.4.12", "protocol": "intel-amt"}},
                {"hostname": "b", "role": "create", "ip": "10.20.3.11",
                 "bmc": {"address": "192.168.7.11", "protocol": "intel-amt"}}
            ],
            "vm_images": [{"name": "talos", "url": "https://10.20.1.10/images/talos.qcow2", "sha256": "00"}]
        })
    }

    #[test]
    fn addresses_of_the_management_network_move_by_host_part() {
        let lab = lab();
        let map = AddressMap::of(&lab).unwrap();
        assert_eq!(
            map.map("10.20.3.11".parse().unwrap()),
            Some("127.0.3.11".parse().unwrap())
        );
        assert_eq!(map.map("10.20.0.20".parse().unwrap()), Some(VIP));
        // The gateway would land on the VIP's address: it moves.
        assert_eq!(map.map("10.20.0.1".parse().unwrap()), Some(MOVED));
        assert_eq!(map.map("10.30.0.5".parse().unwrap()), None);
        assert_eq!(
            map.map_text("http://10.20.1.10:7080/x and 10.30.0.5, harvester-v1.7.0"),
            "http://127.0.1.10:7080/x and 10.30.0.5, harvester-v1.7.0"
        );
        assert_eq!(
            first_node_ip(&lab, &map).unwrap(),
            Ipv4Addr::new(127, 0, 3, 11)
        );
    }

    #[test]
    fn the_rewritten_lab_points_at_the_rehearsal_servers() {
        let lab = lab();
        let map = AddressMap::of(&lab).unwrap();
        let paths = served_paths(&lab).unwrap();
        assert_eq!(
            paths,
            [
                "/harvester/v1.7.0/disk-v1.7.0.raw.zst",
                "/images/talos.qcow2"
            ]
        );
        let files: HashMap<String, Vec<u8>> = paths
            .iter()
            .zip(0..)
            .map(|(path, index)| (path.clone(), crate::serve::stand_in_content(index)))
            .collect();
        let loopback = Loopback {
            harvester_port: 40001,
            ssh_port: 40002,
            files_root: "http://127.0.0.1:40003",
            files: &files,
            bmcs: &HashMap::from([("a".to_owned(), (Ipv4Addr::new(127, 0, 4, 12), 40004))]),
        };
        let out = rewrite(&lab, &map, &loopback).unwrap();
        assert_eq!(out["networks"][0]["subnet"], "127.0.0.0/8");
        assert_eq!(out["networks"][0]["gateway"], "127.255.255.254");
        assert_eq!(out["networks"][1], lab["networks"][1]);
        let harvester = &out["endpoints"]["harvester"];
        assert_eq!(harvester["vip"], "127.0.0.1");
        assert_eq!(harvester["hostname"], "localhost");
        assert_eq!(harvester["api_port"], 40001);
        assert_eq!(harvester["ssh_port"], 40002);
        assert_eq!(
            harvester["dns_servers"],
            json!(["127.255.255.254", "9.9.9.9"])
        );
        assert_eq!(
            out["endpoints"]["pxe"]["base_url"],
            "http://127.0.0.1:40003/harvester/v1.7.0"
        );
        let disk = &files["/harvester/v1.7.0/disk-v1.7.0.raw.zst"];
        assert_eq!(out["endpoints"]["pxe"]["artifacts"][0]["size"], disk.len());
        assert_eq!(
            out["endpoints"]["pxe"]["artifacts"][0]["sha256"],
            sha256_hex(disk)
        );
        assert_eq!(
            out["vm_images"][0]["url"],
            "http://127.0.0.1:40003/images/talos.qcow2"
        );
        assert_eq!(
            out["vm_images"][0]["sha256"],
            sha256_hex(&files["/images/talos.qcow2"])
        );
        assert_eq!(out["machines"][0]["ip"], "127.0.3.12");
        assert_eq!(
            out["machines"][0]["bmc"],
            json!({"address": "127.0.4.12", "protocol": "redfish", "port": 40004, "insecure_tls": true})
        );
        // A machine without an emulated BMC keeps its own (the simulator plays it).
        assert_eq!(out["machines"][1]["bmc"]["protocol"], "intel-amt");
    }

    #[test]
    fn a_bmc_on_another_network_gets_an_address_of_its_own() {
        let lab = lab();
        let map = AddressMap::of(&lab).unwrap();
        assert_eq!(
            bmc_hosts(&lab, &map),
            [
                ("a".to_owned(), Ipv4Addr::new(127, 0, 4, 12)),
                ("b".to_owned(), Ipv4Addr::new(127, 254, 0, 2))
            ]
        );
    }

    #[test]
    fn a_network_larger_than_loopback_is_refused() {
        let mut lab = lab();
        lab["networks"][0]["subnet"] = json!("10.0.0.0/7");
        assert!(AddressMap::of(&lab).is_err());
    }
}
