//! The Go programs of the test world (the kube-apiserver, the Tinkerbell and Rufio
//! controllers, the upstream checks, the Talos check), each built once into a cache keyed by
//! its sources: `<cache>/<cache name>-[<version>-]<key>/<binary>`, `<key>` the first 16 hex
//! digits of the SHA-256 of the `sha256sum` listing of its sources. The build itself is
//! `.ci/lib.sh`'s `go_build_cached`, run through the program's `.ci` script; that file's
//! `go_source_key` computes the same key (checked by this module's tests), so the tests and CI
//! share one cache and a program is built once.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::process::Command;

use crate::Error;
use crate::apiserver::repo_root;

/// Environment variable naming the build cache root (default: `$HOME/.cache/genesis`).
pub const CACHE_DIR_ENV: &str = "GENESIS_CACHE_DIR";

/// Which files of a program's directory make its key (`.ci/lib.sh` `go_source_key` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sources {
    /// `go.mod`, `go.sum` and `*.go` in the directory itself (`flat`).
    Flat,
    /// Every file below the directory, paths relative to it (`tree`).
    Tree,
}

impl Sources {
    /// The mode's name in `.ci/lib.sh`.
    pub fn mode(self) -> &'static str {
        match self {
            Sources::Flat => "flat",
            Sources::Tree => "tree",
        }
    }
}

/// One Go program and how it is built.
#[derive(Debug, Clone, Copy)]
pub struct GoProgram {
    /// The cache directory's name before the key (`apiserver`, `upstream-argocd`, …).
    pub cache_name: &'static str,
    /// The upstream release the program is built from, put before the hash in the key.
    pub version: Option<&'static str>,
    /// The Go module's directory, relative to the repository root.
    pub source_dir: &'static str,
    pub sources: Sources,
    /// The binary's file name in its cache directory.
    pub binary_name: &'static str,
    /// Environment variable naming a prebuilt binary to use instead.
    pub bin_env: &'static str,
    /// The `.ci` script (relative to the repository root) and its arguments that build the
    /// program and print the binary's path.
    pub script: &'static str,
    pub script_args: &'static [&'static str],
    /// What the program is, for the message printed while it builds.
    pub what: &'static str,
}

impl GoProgram {
    /// The Go module's directory.
    pub fn source_path(&self) -> PathBuf {
        repo_root().join(self.source_dir)
    }

    /// The cache key of the current sources: `[<version>-]<16 hex digits>`.
    pub fn source_key(&self) -> Result<String, Error> {
        let hash = source_hash(&self.source_path(), self.sources)?;
        Ok(match self.version {
            Some(version) => format!("{version}-{hash}"),
            None => hash,
        })
    }

    /// Where the cached binary for the current sources lives.
    pub fn cached_binary_path(&self) -> Result<PathBuf, Error> {
        Ok(cache_root()
            .join(format!("{}-{}", self.cache_name, self.source_key()?))
            .join(self.binary_name))
    }

    /// The program's binary: the one its environment variable names, else the cached one, else
    /// builds it into the cache with its `.ci` script (minutes on 2 cores for the big ones).
    /// Builds in this process are serialized, so that parallel tests wanting the same program
    /// build it once.
    pub async fn binary(&self) -> Result<PathBuf, Error> {
        if let Some(bin) = std::env::var_os(self.bin_env) {
            let bin = PathBuf::from(bin);
            if bin.is_file() {
                return Ok(bin);
            }
            return Err(Error::Setup(format!(
                "{}={} is not a file",
                self.bin_env,
                bin.display()
            )));
        }
        let path = self.cached_binary_path()?;
        if path.is_file() {
            return Ok(path);
        }
        static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _building = BUILDING.lock().await;
        if path.is_file() {
            return Ok(path);
        }
        eprintln!(
            "genesis-testworld: building {} into {}; this takes minutes on 2 cores (run \
             .ci/testworld-setup once to do it ahead of the tests)",
            self.what,
            path.display()
        );
        run_script(self.script, self.script_args, &path).await?;
        Ok(path)
    }
}

/// The build cache root: `$GENESIS_CACHE_DIR`, else `$HOME/.cache/genesis`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/genesis")
}

/// The first 16 hex digits of the SHA-256 of the `sha256sum` listing (`<hex>  <name>` lines)
/// of `dir`'s sources, names sorted bytewise, as `.ci/lib.sh` `go_source_key` computes it.
pub fn source_hash(dir: &Path, sources: Sources) -> Result<String, Error> {
    let mut files = Vec::new();
    match sources {
        Sources::Flat => {
            for entry in read_dir(dir)? {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name == "go.mod" || name == "go.sum" || name.ends_with(".go") {
                    files.push((name, entry.path()));
                }
            }
        }
        Sources::Tree => files_below(dir, "", &mut files)?,
    }
    files.sort();
    let mut listing = String::new();
    for (name, path) in &files {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            what: format!("read {}", path.display()),
            source,
        })?;
        listing.push_str(&format!("{:x}  {name}\n", Sha256::digest(&bytes)));
    }
    let digest = format!("{:x}", Sha256::digest(listing.as_bytes()));
    Ok(digest[..16].to_owned())
}

fn read_dir(dir: &Path) -> Result<impl Iterator<Item = std::fs::DirEntry>, Error> {
    Ok(std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            what: format!("read {}", dir.display()),
            source,
        })?
        .filter_map(Result::ok))
}

fn files_below(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    for entry in read_dir(dir)? {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        if path.is_dir() {
            files_below(&path, &format!("{name}/"), out)?;
        } else {
            out.push((name, path));
        }
    }
    Ok(())
}

/// Runs `bash <script> <args>` from the repository and checks it printed `expected` (the path
/// of what it builds or installs).
pub(crate) async fn run_script(script: &str, args: &[&str], expected: &Path) -> Result<(), Error> {
    let script = repo_root().join(script);
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| Error::Io {
            what: format!("run {}", script.display()),
            source,
        })?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || printed.trim() != expected.to_string_lossy() {
        return Err(Error::Setup(format!(
            "{} {} failed to provide {} (printed {:?}): {}",
            script.display(),
            args.join(" "),
            expected.display(),
            printed.trim(),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Go program of the test world.
    fn programs() -> Vec<GoProgram> {
        vec![
            crate::apiserver::PROGRAM,
            crate::tinkerbell::PROGRAM,
            crate::talos::PROGRAM,
            crate::upstream::Check::ArgoCd.program(),
            crate::upstream::Check::KubeVirt.program(),
        ]
    }

    /// The harness and `.ci/lib.sh` agree on every program's key.
    #[test]
    fn source_keys_match_the_build_scripts() {
        for program in programs() {
            let output = std::process::Command::new("bash")
                .args([
                    "-c",
                    "log() { echo \"$*\" >&2; }; . .ci/lib.sh && go_source_key \"$1\" \"$2\"",
                    "-",
                    program.source_dir,
                    program.sources.mode(),
                ])
                .current_dir(repo_root())
                .output()
                .expect("run bash");
            assert!(
                output.status.success(),
                "{}: {}",
                program.source_dir,
                String::from_utf8_lossy(&output.stderr)
            );
            let hash = String::from_utf8(output.stdout).expect("utf-8");
            assert_eq!(
                source_hash(&program.source_path(), program.sources).expect("hash"),
                hash.trim(),
                "{}",
                program.source_dir
            );
        }
    }

    /// The listing is what `sha256sum` prints, so the hash depends on names and contents.
    #[test]
    fn the_key_follows_names_and_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("go.mod"), "module x\n").expect("write");
        std::fs::write(dir.path().join("main.go"), "package main\n").expect("write");
        std::fs::write(dir.path().join("README"), "not a source\n").expect("write");
        let flat = source_hash(dir.path(), Sources::Flat).expect("hash");
        let listing = format!(
            "{:x}  go.mod\n{:x}  main.go\n",
            Sha256::digest(b"module x\n"),
            Sha256::digest(b"package main\n")
        );
        assert_eq!(
            flat,
            format!("{:x}", Sha256::digest(listing.as_bytes()))[..16]
        );
        // The README is a source of the tree, not of the flat listing.
        assert_ne!(source_hash(dir.path(), Sources::Tree).expect("hash"), flat);
        std::fs::write(dir.path().join("main.go"), "package main // changed\n").expect("write");
        assert_ne!(source_hash(dir.path(), Sources::Flat).expect("hash"), flat);
    }
}
