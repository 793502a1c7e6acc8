//! How `genesis plan` scales: a generated lab of 1,000 machines whose phases give about
//! 10,000 steps, loaded, validated, expanded, built into the DAG, planned and rendered.
//!
//! Run with `cargo bench --bench plan_scale`. Prints the median and slowest wall time of each
//! stage over several runs and the process's peak resident memory (VmHWM). Options:
//! `--machines N` (default 1000), `--runs N` (default 7).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use genesis::inputs::{self, InputPaths};
use genesis::plan;

/// Per-machine local hooks an operator might add (firmware check, burn-in, …): with the
/// three per-machine steps of phase 3, each machine has ten steps.
const HOOKS_PER_MACHINE: usize = 7;

fn main() {
    let mut machines = 1000usize;
    let mut runs = 7usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--machines" => machines = args.next().and_then(|v| v.parse().ok()).unwrap_or(machines),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            _ => {} // cargo bench passes `--bench`
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = write_inputs(dir.path(), machines);

    let mut load_times = Vec::new();
    let mut plan_times = Vec::new();
    let mut render_times = Vec::new();
    let mut total_times = Vec::new();
    let mut steps = 0;
    let mut parse_times = Vec::new();
    let lab_text = std::fs::read_to_string(&paths.lab).expect("lab text");
    for _ in 0..runs {
        let start = Instant::now();
        let lab: genesis::inputs::lab::Lab = serde_saphyr::from_str(&lab_text).expect("lab parses");
        std::hint::black_box(&lab);
        parse_times.push(start.elapsed());
        let start = Instant::now();
        let inputs = inputs::load(&paths)
            .unwrap_or_else(|diagnostics| panic!("generated lab is invalid:\n{diagnostics}"));
        let loaded = start.elapsed();
        let planned = plan::build(&inputs, &|_| "pending".to_owned());
        let plan_done = start.elapsed();
        let text = plan::render_text(&planned);
        let json = serde_json::to_string(&planned).expect("plan encodes");
        let rendered = start.elapsed();
        std::hint::black_box((text.len(), json.len()));
        steps = inputs.graph.len();
        load_times.push(loaded);
        plan_times.push(plan_done - loaded);
        render_times.push(rendered - plan_done);
        total_times.push(rendered);
    }
    println!("plan_scale: {machines} machines, {steps} steps, {runs} runs");
    report("parse the lab file alone", &mut parse_times);
    report("load + validate + expand + DAG", &mut load_times);
    report("plan (descriptions, branches)", &mut plan_times);
    report("render text + JSON", &mut render_times);
    report("total", &mut total_times);
    println!("peak resident memory (VmHWM): {}", peak_memory());
}

fn report(stage: &str, times: &mut [Duration]) {
    times.sort();
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!(
        "  {stage:<32} median {:>8.1} ms   max {:>8.1} ms",
        ms(median),
        ms(worst)
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .map(|line| line["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Writes a lab of `machines` MS-02-like machines, the shipped phases, a hook phase, and the
/// secrets they reference.
fn write_inputs(dir: &Path, machines: usize) -> InputPaths {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let phases = dir.join("phases");
    std::fs::create_dir_all(&phases).expect("phases dir");
    for number in 2..=4 {
        let name = format!("phase-{number}.yaml");
        std::fs::copy(repo.join("phases").join(&name), phases.join(&name)).expect("copy phase");
    }
    let templates = phases.join("templates");
    std::fs::create_dir_all(&templates).expect("templates dir");
    for entry in std::fs::read_dir(repo.join("phases/templates")).expect("templates") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, templates.join(path.file_name().expect("name")))
            .expect("copy template");
    }
    let mut hooks = String::from("phase: 5\nname: Per-machine hooks\nsteps:\n");
    for hook in 0..HOOKS_PER_MACHINE {
        let needs = if hook == 0 {
            String::new()
        } else {
            format!("\n    needs: [hook-{}]", hook - 1)
        };
        let _ = write!(
            hooks,
            "  - id: hook-{hook}\n    number: {}\n    name: Local hook {hook}\n    kind: exec\n    for_each: machines{needs}\n    params:\n      command: /bin/true\n      args: [\"${{machine.hostname}}\", \"${{machine.ip}}\"]\n    timeout: 1m\n",
            100 + hook
        );
    }
    std::fs::write(phases.join("phase-5.yaml"), hooks).expect("hooks");

    let mut lab = String::from(
        "schema: 1\nname: generated\nnetworks:\n\
         - {name: mgmt, vlan: 10, subnet: 10.16.0.0/16, gateway: 10.16.0.1, purpose: management}\n\
         - {name: platform, vlan: 30, subnet: 10.17.30.0/24, gateway: 10.17.30.1, purpose: vms}\n\
         endpoints:\n  platform: {context: platform}\n  tinkerbell: {namespace: tink-system, metadata_url: \"http://10.16.0.2:7080\"}\n\
         \x20 harvester: {hostname: harvester.example, vip: 10.16.0.3, network: mgmt, api_port: 6443, version: v1.7.0, dns_servers: [10.16.0.1]}\n\
         \x20 argocd: {namespace: argocd, cluster_name: harvester}\n\
         \x20 pxe:\n    base_url: http://10.16.0.2:8080/harvester\n    artifacts:\n\
         \x20     - {role: disk-image, file: harvester.raw.zst}\n\
         platform_node: {hostname: platform-0, network: mgmt, ip: 10.16.0.2}\n\
         vm_images:\n  - {name: talos, namespace: default, display_name: Talos, url: \"http://10.16.0.2:8080/talos.raw.xz\"}\n\
         vms:\n  - {name: cp-2, namespace: default, network: platform, mac: \"52:54:00:00:00:02\", cpu_cores: 4, memory: 16Gi, disk: 40Gi, image: talos}\n\
         machines:\n",
    );
    let mut secrets = String::from(
        "harvester: {token: t0ken-value, os_password: passw0rd-value}\nssh: {private_key: k3y-value}\ntalos: {cp-2: {machine_config: c0nfig-value}}\nbmc:\n",
    );
    for index in 0..machines {
        let host = index + 10;
        let (high, low) = (host / 256, host % 256);
        let role = if index == 0 { "create" } else { "join" };
        let _ = writeln!(
            lab,
            "  - {{hostname: node-{index}, role: {role}, network: mgmt, ip: 10.16.{high}.{low}, pxe_mac: \"02:00:00:00:{high:02x}:{low:02x}\", bmc: {{address: 10.16.{}.{low}, protocol: redfish}}, install_disk: /dev/nvme0n1}}",
            high + 128
        );
        let _ = writeln!(
            secrets,
            "  node-{index}: {{username: admin, password: pw-{index}}}"
        );
    }
    std::fs::write(dir.join("lab.yaml"), lab).expect("lab");
    std::fs::write(dir.join("secrets.yaml"), secrets).expect("secrets");
    // Private, as genesis requires of a plaintext secrets file.
    std::fs::set_permissions(
        dir.join("secrets.yaml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 600 secrets.yaml");
    InputPaths {
        lab: dir.join("lab.yaml"),
        phases,
        secrets: dir.join("secrets.yaml"),
    }
}
