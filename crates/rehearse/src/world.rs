//! The world process: brings the test world up for one lab, writes the lab on loopback and
//! [`WorldInfo`], then serves the control socket until `down` (or SIGTERM/SIGINT).

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use genesis_testworld::{BmcSpec, World, WorldOptions};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::control::{Cluster, Request};
use crate::labmap::{self, AddressMap, Loopback};
use crate::serve::{relay, serve_files, stand_in_content};
use crate::{BmcCredentials, Error, Layout, Scenario, WorldInfo};

/// Runs the world of the rehearsal directory `layout` until it is told to stop. Prints one
/// line on stdout: `ready <WorldInfo as JSON>` once everything answers, or `error <message>`.
pub async fn serve(layout: &Layout) -> Result<(), Error> {
    let started = Instant::now();
    let up = match start(layout, started).await {
        Ok(up) => up,
        Err(error) => {
            println!("error {}", one_line(&error));
            let _ = std::io::stdout().flush();
            return Err(error);
        }
    };
    println!(
        "ready {}",
        serde_json::to_string(&up.info).unwrap_or_default()
    );
    let _ = std::io::stdout().flush();
    run(layout, up).await
}

/// An error and its causes on one line.
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.replace('\n', " ")
}

struct Up {
    world: World,
    info: WorldInfo,
    listener: UnixListener,
    tasks: Vec<JoinHandle<()>>,
}

async fn start(layout: &Layout, started: Instant) -> Result<Up, Error> {
    let scenario = Scenario::from_file(&layout.scenario())
        .map_err(|error| Error::Lab(format!("the scenario: {error}")))?;
    let lab_text = std::fs::read_to_string(layout.source_lab())
        .map_err(Error::io(format!("read {}", layout.source_lab().display())))?;
    let lab: Value = serde_json::from_str(&lab_text)
        .map_err(|error| Error::Lab(format!("lab.json: {error}")))?;
    let map = AddressMap::of(&lab)?;
    let first_node = labmap::first_node_ip(&lab, &map)?;
    let paths = labmap::served_paths(&lab)?;

    // With `bmcs.json`: the real Tinkerbell and Rufio controllers and one Redfish emulator per
    // machine, with the stand-in credentials.
    let real_bmcs = match std::fs::read_to_string(layout.bmcs()) {
        Ok(text) => {
            let credentials: Vec<BmcCredentials> = serde_json::from_str(&text)
                .map_err(|error| Error::Lab(format!("bmcs.json: {error}")))?;
            let hosts: HashMap<String, Ipv4Addr> =
                labmap::bmc_hosts(&lab, &map).into_iter().collect();
            let specs = credentials
                .into_iter()
                .map(|bmc| {
                    let host = hosts.get(&bmc.machine).copied().ok_or_else(|| {
                        Error::Lab(format!("no machine {} in the lab", bmc.machine))
                    })?;
                    Ok(BmcSpec {
                        machine: bmc.machine,
                        host,
                        username: bmc.username,
                        password: bmc.password,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Some(specs)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(Error::Io {
                what: format!("read {}", layout.bmcs().display()),
                source: error,
            });
        }
    };
    let world = World::start_with(WorldOptions {
        scenario: Some(scenario),
        real_tinkerbell: real_bmcs,
        ..WorldOptions::default()
    })
    .await?;
    let bmcs: HashMap<String, (Ipv4Addr, u16)> = world
        .bmcs
        .values()
        .map(|bmc| (bmc.machine.clone(), (bmc.host, bmc.port)))
        .collect();
    let ssh = world
        .ssh
        .as_ref()
        .ok_or_else(|| Error::Control("the world has no sshd".into()))?;
    let sshd = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), ssh.endpoint.port);
    let (ssh_port, relay_task) = relay(IpAddr::V4(first_node), sshd)
        .await
        .map_err(Error::io(format!(
            "listen at the first node's address {first_node}"
        )))?;
    let files: HashMap<String, Vec<u8>> = paths
        .iter()
        .zip(0u32..)
        .map(|(path, index)| (path.clone(), stand_in_content(index)))
        .collect();
    let (files_root, files_task) = serve_files(files.clone())
        .await
        .map_err(Error::io("start the file server"))?;
    let harvester_port = url::Url::parse(world.harvester.url())
        .ok()
        .and_then(|url| url.port())
        .ok_or_else(|| Error::Control("the Harvester API server has no port".into()))?;
    let mapped = labmap::rewrite(
        &lab,
        &map,
        &Loopback {
            harvester_port,
            ssh_port,
            files_root: &files_root,
            files: &files,
            bmcs: &bmcs,
        },
    )?;
    std::fs::create_dir_all(layout.run_dir())
        .map_err(Error::io(format!("create {}", layout.run_dir().display())))?;
    let yaml = serde_saphyr::to_string(&mapped)
        .map_err(|error| Error::Lab(format!("write the lab on loopback: {error}")))?;
    std::fs::write(
        layout.lab(),
        format!(
            "# The lab of this rehearsal: the operator's lab moved onto loopback by\n\
             # `genesis rehearse` (docs/rehearse.md). Removed with the rehearsal.\n{yaml}"
        ),
    )
    .map_err(Error::io(format!("write {}", layout.lab().display())))?;

    let namespace = |pointer: &str, default: &str| {
        lab.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    crate::platform::prepare_platform(
        &world.platform.client,
        &namespace("/endpoints/tinkerbell/namespace", "tink-system"),
        &namespace("/endpoints/argocd/namespace", "argocd"),
    )
    .await
    .map_err(|source| Error::Kube {
        context: "make the Platform cluster look installed".into(),
        source,
    })?;

    let _ = std::fs::remove_file(layout.socket());
    let listener = UnixListener::bind(layout.socket()).map_err(Error::io(format!(
        "listen on {}",
        layout.socket().display()
    )))?;
    let info = WorldInfo {
        pid: std::process::id(),
        platform_kubeconfig: world.platform.kubeconfig_path().to_owned(),
        harvester_kubeconfig: world.harvester.kubeconfig_path().to_owned(),
        ssh_private_key: ssh.endpoint.private_key_path.clone(),
        startup_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    std::fs::write(
        layout.world_info(),
        serde_json::to_string_pretty(&info).unwrap_or_default(),
    )
    .map_err(Error::io(format!(
        "write {}",
        layout.world_info().display()
    )))?;
    Ok(Up {
        world,
        info,
        listener,
        tasks: vec![relay_task, files_task],
    })
}

async fn run(layout: &Layout, mut up: Up) -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::io("handle SIGTERM"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::io("handle SIGINT"))?;
    let asked_down = loop {
        let stream = tokio::select! {
            accepted = up.listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = terminate.recv() => break None,
            _ = interrupt.recv() => break None,
        };
        let (request, mut stream) = read_request(stream).await;
        let answer = match request {
            Some(Request::Down) => break Some(stream),
            Some(Request::Ping) => "ok".to_owned(),
            Some(Request::Lift) => match up.world.simulator.as_ref() {
                Some(simulator) => {
                    simulator.lift_faults();
                    // An emulated BMC stopped by `bmc_unreachable` answers again.
                    let machines: Vec<String> = up.world.bmcs.keys().cloned().collect();
                    let mut answer = "ok".to_owned();
                    for machine in machines {
                        if let Err(error) = up.world.resume_bmc(&machine).await {
                            answer = format!("error the BMC of {machine}: {}", one_line(&error));
                        }
                    }
                    answer
                }
                None => "error the world runs no simulator".to_owned(),
            },
            Some(Request::Restart(cluster)) => {
                let server = match cluster {
                    Cluster::Platform => &mut up.world.platform.server,
                    Cluster::Harvester => &mut up.world.harvester.server,
                };
                match server.restart().await {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => format!("error {}", one_line(&error)),
                }
            }
            None => "error unknown request".to_owned(),
        };
        let _ = stream.write_all(format!("{answer}\n").as_bytes()).await;
    };
    for task in &up.tasks {
        task.abort();
    }
    up.world.shutdown().await;
    let _ = std::fs::remove_file(layout.socket());
    if let Some(mut stream) = asked_down {
        let _ = stream.write_all(b"ok\n").await;
    }
    Ok(())
}

async fn read_request(stream: UnixStream) -> (Option<Request>, UnixStream) {
    // A request is one short line: at most 256 bytes are read, for at most 5 s.
    let mut reader = BufReader::new(stream).take(256);
    let mut line = String::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reader.read_line(&mut line),
    )
    .await;
    let request = match read {
        Ok(Ok(_)) => Request::parse(&line),
        _ => None,
    };
    (request, reader.into_inner().into_inner())
}
