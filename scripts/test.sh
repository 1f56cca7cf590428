#!/usr/bin/env bash
# Runs every test of the workspace. Installs what the tests need first when it is missing
# (nginx, tinyproxy, Dante's SOCKS server and curl from apt), so it passes on a fresh machine
# with no other step.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || [ -x /usr/sbin/tinyproxy ] || need+=(tinyproxy)
[ -x /usr/sbin/danted ] || need+=(dante-server)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    echo "scripts/test.sh: installing ${need[*]} with apt" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The default members: every crate but `bench`, whose binaries are benchmarks, not tests (it
# is still built and linted by `.ci/run`'s clippy). The fuzz corpus replay runs with the
# ordinary tests (crates/envoi-proto/tests/fuzz_corpus.rs).
# The smallest build (every optional feature off) must still compile cleanly, and its unit
# tests (those that need a decoder are gated on it) must pass.
RUSTFLAGS="${RUSTFLAGS:-} -D warnings" cargo test -p envoi --lib --no-default-features --locked
cargo test --all-targets --locked "$@"
cargo test --doc --locked
