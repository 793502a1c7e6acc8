# Shared by the .ci build scripts (testworld-setup, build-tinkerbell, build-upstream-checks,
# build-talos-check): where the Go programs of the test world are cached, the key of their
# sources, and the build into the cache. Sourced, not run; the caller defines `log` (messages to
# stderr) and runs from the repository root. crates/testworld/src/gobuild.rs is the Rust side and
# must compute the same keys (its tests source this file and compare).

# Go needs a home for its caches; CI may run with a bare environment.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
# The cache root (crates/testworld: GENESIS_CACHE_DIR, else $HOME/.cache/genesis).
GENESIS_CACHE="${GENESIS_CACHE_DIR:-$HOME/.cache/genesis}"

# go_source_key DIR MODE: the first 16 hex digits of the SHA-256 of the `sha256sum` listing of
# DIR's sources, names sorted bytewise (LC_ALL=C). MODE `flat`: go.mod, go.sum and *.go in DIR
# itself; MODE `tree`: every file below DIR (paths relative to DIR).
go_source_key() {
    local dir=$1 mode=$2 files
    case "$mode" in
        flat) files=$(cd "$dir" && LC_ALL=C ls go.mod go.sum *.go | LC_ALL=C sort) ;;
        tree) files=$(cd "$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) ;;
        *) log "go_source_key: unknown mode $mode (flat or tree)"; return 2 ;;
    esac
    # shellcheck disable=SC2086
    (cd "$dir" && sha256sum $files) | sha256sum | cut -c1-16
}

# go_build_cached SRC DIR BIN [LDFLAGS]: prints DIR/BIN, first building the Go module SRC into
# it when it is not there (go mod download, then go build with LDFLAGS, default `-s -w`, into a
# partial file renamed into place, so that a concurrent or interrupted build never leaves a
# half-written binary behind).
go_build_cached() {
    local src=$1 dir=$2 bin="$2/$3" ldflags=${4:-"-s -w"} started partial
    if [ -x "$bin" ]; then
        echo "$bin"
        return 0
    fi
    command -v go >/dev/null 2>&1 || { log "Go is missing (the machine image ships it)"; exit 1; }
    mkdir -p "$dir"
    started=$(date +%s)
    log "downloading Go modules for $src"
    (cd "$src" && go mod download) >&2
    log "downloaded in $(($(date +%s) - started))s; building $bin (minutes on 2 cores)"
    partial="$bin.partial.$$"
    (cd "$src" && go build -ldflags "$ldflags" -o "$partial" .) >&2
    mv "$partial" "$bin"
    log "built $bin in $(($(date +%s) - started))s"
    echo "$bin"
}
