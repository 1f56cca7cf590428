#!/usr/bin/env bash
# The `envoi` command line beside curl (issue 8, "Speed"), over loopback against nginx:
#   1. `-s -o /dev/null URL/big`: a 1 GiB download; wall time, MB/s, user+sys CPU, peak RSS;
#   2. 1,000 URLs in one call, `-s -o /dev/null URL/small -o /dev/null URL/small ...`, and
#      nginx's stub_status proving each tool used one keep-alive connection for all of them;
#   3. start-up: `--version`, with hyperfine (`-N --warmup 20 --runs 300`) per round.
# Each round runs envoi and curl once each (in 3, 300 times each), alternating which goes
# first. Prints a Markdown table (see BENCHMARKS.md, "CLI against curl"); progress to stderr.
#
# Usage: CARGO_TARGET_DIR=/work/target-bench bench/run-cli-bench.sh
# Knobs (environment): RUNS (rounds, default 5), STARTUP_RUNS (default 300), URLS (default
# 1000), LOCK (default /work/bench.lock: every timed run holds it, via flock), BUILD=0 uses
# the binaries already in $CARGO_TARGET_DIR/release.
#
# nginx (its own config, pid file and logs in a temp dir on /dev/shm, a free loopback port;
# never the system service) runs on core 1, the client on core 0, both pinned with taskset.
# Installs nginx, curl, hyperfine and GNU time with apt-get when they are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/nginx.sh
source "$ROOT/bench/nginx.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}
RUNS=${RUNS:-5}
STARTUP_RUNS=${STARTUP_RUNS:-300}
URLS=${URLS:-1000}
LOCK=${LOCK:-/work/bench.lock}
BUILD=${BUILD:-1}
CURL=/usr/bin/curl
BIG=$((1024 * 1024 * 1024))
say() { echo "== $*" >&2; }

# --- what the benchmark needs ----------------------------------------------------------------
missing=()
command -v nginx >/dev/null || missing+=(nginx)
[[ -x $CURL ]] || missing+=(curl)
command -v hyperfine >/dev/null || missing+=(hyperfine)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v taskset >/dev/null || missing+=(util-linux)
command -v flock >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
if (($(nproc) < 2)); then
    say "needs 2 cores (nginx on core 1, the client on core 0); found $(nproc)"
    exit 1
fi

if [[ $BUILD == 1 ]]; then
    say "building envoi-cli and cli_bench (release) into $CARGO_TARGET_DIR"
    (cd "$ROOT" && cargo build --release -q -p envoi-cli >&2)
    (cd "$ROOT" && cargo build --release -q -p envoi-bench --bin cli_bench >&2)
fi
ENVOI=$CARGO_TARGET_DIR/release/envoi
BENCH=$CARGO_TARGET_DIR/release/cli_bench

# --- a temp dir with the files and nginx's config ----------------------------------------------
base=/dev/shm
if ! [[ -w $base ]] || (($(df -k --output=avail "$base" | tail -1) < 2 * 1024 * 1024)); then
    say "needs 2 GiB free on /dev/shm for the 1 GiB file"
    exit 1
fi
make_workdir cli-bench $((2 * 1024 * 1024))
RESULTS=$WORK/results.txt
: >"$RESULTS"

mkdir -p "$WORK/www"
printf 'Hello, world\n' >"$WORK/www/small" # 13 bytes
head -c "$BIG" /dev/zero >"$WORK/www/big"  # on tmpfs: served from memory
chmod -R a+rX "$WORK/www"

PORT=$("$BENCH" port)
write_nginx_conf 1 64 <<EOF
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000000;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
        location = /stub_status { stub_status; }
    }
EOF
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT, pinned to core 1"
start_nginx "$PORT" 1
master=$(cat "$WORK/nginx.pid")
for pid in $master $(pgrep -P "$master"); do taskset -a -p -c 1 "$pid" >/dev/null; done
URL=http://127.0.0.1:$PORT
STUB=$URL/stub_status

# --- the same arguments for both tools -----------------------------------------------------------
declare -A TOOL=([envoi]=$ENVOI [curl]=$CURL)
DL_ARGS=(-s -o /dev/null "$URL/big")
MANY_ARGS=(-s)
for _ in $(seq "$URLS"); do MANY_ARGS+=(-o /dev/null "$URL/small"); done

say "checks (untimed): sizes, and one connection for $URLS URLs"
for client in envoi curl; do
    got=$("${TOOL[$client]}" -s -o /dev/null -w '%{http_code} %{size_download}' "$URL/big")
    [[ $got == "200 $BIG" ]] || { say "$client: big gave '$got'"; exit 1; }
    got=$("${TOOL[$client]}" -s "$URL/small")
    [[ $got == "Hello, world" ]] || { say "$client: small gave '$got'"; exit 1; }
    out=$("$BENCH" run --round 0 --tag check --client "$client" --requests "$URLS" \
        --stub "$STUB" -- "${TOOL[$client]}" "${MANY_ARGS[@]}")
    say "$out"
    [[ $out == *" connections=1 served=$URLS"* ]] || { say "$client: not one connection"; exit 1; }
done

# The two tools in the order of the round: envoi first in odd rounds, curl first in even ones.
order() { if (($1 % 2)); then echo envoi curl; else echo curl envoi; fi; }
record() { tee -a "$RESULTS" >&2; }
# One timed run: the lock held, the client (and this helper, which only waits) on core 0.
timed() { flock "$LOCK" taskset -c 0 "$BENCH" run "$@"; }

for round in $(seq "$RUNS"); do
    echo "RESULT round=$round tag=load load1=$(cut -d' ' -f1 /proc/loadavg)" | record

    # --- 1. 1 GiB download --------------------------------------------------------------------
    say "round $round/$RUNS: 1 GiB download"
    for client in $(order "$round"); do
        timed --round "$round" --tag download --client "$client" --bytes "$BIG" \
            -- "${TOOL[$client]}" "${DL_ARGS[@]}" | record
    done

    # --- 2. 1,000 URLs in one call --------------------------------------------------------------
    say "round $round/$RUNS: $URLS URLs in one call"
    for client in $(order "$round"); do
        timed --round "$round" --tag many --client "$client" --requests "$URLS" \
            --stub "$STUB" -- "${TOOL[$client]}" "${MANY_ARGS[@]}" | record
    done

    # --- 3. start-up ------------------------------------------------------------------------------
    say "round $round/$RUNS: start-up, hyperfine --runs $STARTUP_RUNS"
    for client in $(order "$round"); do
        csv=$WORK/startup-$client-$round.csv
        flock "$LOCK" taskset -c 0 hyperfine -N --style none --warmup 20 \
            --runs "$STARTUP_RUNS" --export-csv "$csv" "${TOOL[$client]} --version" >&2
        # command,mean,stddev,median,user,system,min,max (seconds)
        rss=$(taskset -c 0 "$BENCH" run --round "$round" --tag rss --client "$client" \
            -- "${TOOL[$client]}" --version | sed 's/.*maxrss_kib=\([0-9]*\).*/\1/')
        tail -1 "$csv" | awk -F, -v r="$round" -v c="$client" -v rss="$rss" '{
            printf "RESULT round=%s tag=startup client=%s wall_s=%s user_s=%s sys_s=%s min_s=%s mean_s=%s maxrss_kib=%s\n",
                r, c, $4, $5, $6, $7, $2, rss }' | record
    done
done

# --- the table ---------------------------------------------------------------------------------------
cp "$RESULTS" "$CARGO_TARGET_DIR/cli-bench-results.txt"
say "raw results: $CARGO_TARGET_DIR/cli-bench-results.txt ($BENCH report FILE prints the table)"
echo "Command: CARGO_TARGET_DIR=$CARGO_TARGET_DIR bench/run-cli-bench.sh" \
    "(RUNS=$RUNS URLS=$URLS STARTUP_RUNS=$STARTUP_RUNS)"
changed=$(git -C "$ROOT" status --porcelain -- crates | wc -l)
echo "envoi at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($changed uncommitted files under crates/); rustc $(rustc --version | awk '{print $2}');" \
    "envoi binary $(stat -c %s "$ENVOI") bytes"
echo "$($CURL --version | head -1 | cut -d' ' -f1-4), nginx $(nginx -v 2>&1 | sed 's/.*\///')," \
    "hyperfine $(hyperfine --version | awk '{print $2}'), $(uname -r)"
echo "nginx pinned to core 1, the client to core 0 (taskset)."
echo
"$BENCH" report "$RESULTS"
