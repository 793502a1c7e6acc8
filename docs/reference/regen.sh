#!/usr/bin/env bash
# Regenerates the command reference under docs/reference/ from genesis's clap definitions:
# the shell completions, one man page per command, and cli.md. tests/it/cli_reference.rs fails
# when the checked-in files differ from what the code generates; run this and commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet --locked --bin genesis
bin="${CARGO_TARGET_DIR:-target}/debug/genesis"
out=docs/reference
mkdir -p "$out/completions" "$out/man"
"$bin" completions bash >"$out/completions/genesis.bash"
"$bin" completions zsh >"$out/completions/_genesis"
"$bin" completions fish >"$out/completions/genesis.fish"
"$bin" completions elvish >"$out/completions/genesis.elv"
"$bin" completions powershell >"$out/completions/_genesis.ps1"
rm -f "$out"/man/*.1
"$bin" man --out-dir "$out/man"
"$bin" man --markdown >"$out/cli.md"
echo "docs/reference regenerated"
