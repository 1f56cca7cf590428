#!/usr/bin/env bash
# envoi's poll front end on a 1 GiB download from nginx over loopback (issue 7):
#   1. a frame loop: every poll() and read_response_body_chunk() call timed (wall clock and
#      the thread's CPU time), through poll::HttpClient and through poll::Request;
#   2. a tight loop: poll::HttpClient's throughput (chunks of 64 KiB and 1 MiB) against
#      envoi's blocking client (read_body into a 1 MiB buffer).
# Both also run a bare non-blocking TcpStream the same way, as the control.
# Prints Markdown tables (see BENCHMARKS.md, "Poll front end benchmarks"); progress goes to
# stderr, and the raw RESULT lines to $CARGO_TARGET_DIR/poll-bench-results.txt.
#
# Usage: CARGO_TARGET_DIR=/work/target-bench bench/run-poll-bench.sh
# Knobs (environment): RUNS (rounds, default 3), FPS (default 240), PER_FRAME (network calls
# per frame at most, default 64), BUDGET_US (network work per frame, default 2000), LOCK (a
# file to flock around each timed run, default /work/bench.lock when /work exists; empty: none),
# BUILD=0 uses the poll_bench already built, PARTS (default "frame tight") picks the parts,
# DOWNLOAD_DIR (default: the tmpfs work dir) where poll::Request writes its download file (a
# directory on disk shows what the file system's writes and final flush cost a frame).
# PERF=1 records each frame run with `perf record -k mono -F 10000 -g` into
# $CARGO_TARGET_DIR/poll-perf-<api>-<round>.data; `bench/perf_calls.py` then lists the samples
# inside the longest calls that the log names (their start is on the same clock).
#
# It starts its own nginx (own config, pid file and logs in a temp dir on tmpfs, a free
# loopback port; never the system service) and stops it on exit. The client runs on core 0,
# nginx on core 1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/nginx.sh
source "$ROOT/bench/nginx.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${RUNS:-3}
FPS=${FPS:-240}
PER_FRAME=${PER_FRAME:-64}
BUDGET_US=${BUDGET_US:-2000}
PARTS=${PARTS:-frame tight}
if [[ -d /work ]]; then LOCK=${LOCK-/work/bench.lock}; else LOCK=${LOCK-}; fi
BIG=$((1024 * 1024 * 1024))
say() { echo "== $*" >&2; }

missing=()
command -v nginx >/dev/null || missing+=(nginx)
if [[ ${PERF:-0} == 1 ]] && ! command -v perf >/dev/null; then missing+=(linux-perf); fi
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
if (($(nproc) < 2)); then
    say "needs 2 cores (client on 0, nginx on 1); found $(nproc)"
    exit 1
fi

if [[ ${BUILD:-1} == 1 ]]; then
    say "building poll_bench (release) into $CARGO_TARGET_DIR"
    (cd "$ROOT" && cargo build --release -q -p envoi-bench --bin poll_bench >&2)
fi
BENCH=$CARGO_TARGET_DIR/release/poll_bench

# --- a temp dir on tmpfs with the file and nginx's config ---------------------------------------
# tmpfs: the served file and poll::Request's download file live in memory
make_workdir poll-bench $((3 * 1024 * 1024))
base=$WORK_BASE
RESULTS=$WORK/results.txt
DOWNLOAD_DIR=${DOWNLOAD_DIR:-$WORK}
: >"$RESULTS"

mkdir -p "$WORK/www"
if [[ $base == /dev/shm ]]; then
    head -c "$BIG" /dev/zero >"$WORK/www/big"
else
    truncate -s "$BIG" "$WORK/www/big"
fi
chmod -R a+rX "$WORK/www"

PORT=$("$BENCH" port)
write_nginx_conf 1 64 <<EOF
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
    }
EOF
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT, core 1"
start_nginx "$PORT" 1
master=$(cat "$WORK/nginx.pid")
for pid in $master $(pgrep -P "$master"); do taskset -a -p -c 1 "$pid" >/dev/null; done
URL=http://127.0.0.1:$PORT/big

record() { sed "s/^RESULT /RESULT round=$1 /" | tee -a "$RESULTS" >&2; }
# One timed run on core 0, holding the machine's benchmark lock when there is one.
timed() {
    local run=(taskset -c 0 "$BENCH" "$@")
    if [[ -n ${PERF_OUT:-} ]]; then
        run=(perf record -q -k mono -F 10000 -g -o "$PERF_OUT" -- "${run[@]}")
    fi
    if [[ -n $LOCK ]]; then
        flock "$LOCK" "${run[@]}"
    else
        "${run[@]}"
    fi
}

frame_args=(--url "$URL" --bytes "$BIG" --fps "$FPS" --per-frame "$PER_FRAME"
    --budget-us "$BUDGET_US")
tight_cases=("poll 65536" "poll 1048576" "socket 65536" "blocking 1048576")

for round in $(seq "$RUNS"); do
    # Odd rounds run the poll client first, even rounds the blocking client first.
    if ((round % 2)); then
        order=(0 1 2 3) apis=(client request socket)
    else
        order=(3 2 1 0) apis=(socket request client)
    fi
    [[ $PARTS == *frame* ]] || apis=()
    [[ $PARTS == *tight* ]] || order=()
    say "round $round/$RUNS: frame loop (${apis[*]}), load $(cut -d' ' -f1 /proc/loadavg)"
    for api in "${apis[@]}"; do
        perf_out=
        [[ ${PERF:-0} == 1 ]] && perf_out=$CARGO_TARGET_DIR/poll-perf-$api-$round.data
        PERF_OUT=$perf_out timed frame --api "$api" "${frame_args[@]}" \
            --download-file "$DOWNLOAD_DIR/download" | record "$round"
    done
    say "round $round/$RUNS: tight loop"
    for i in "${order[@]}"; do
        read -r client chunk <<<"${tight_cases[$i]}"
        timed tight --client "$client" --chunk "$chunk" --url "$URL" --bytes "$BIG" |
            record "$round"
    done
done

cp "$RESULTS" "$CARGO_TARGET_DIR/poll-bench-results.txt"
say "raw results: $CARGO_TARGET_DIR/poll-bench-results.txt"
echo "Command: CARGO_TARGET_DIR=$CARGO_TARGET_DIR bench/run-poll-bench.sh" \
    "(RUNS=$RUNS FPS=$FPS PER_FRAME=$PER_FRAME BUDGET_US=$BUDGET_US PARTS=\"$PARTS\"" \
    "DOWNLOAD_DIR=$([[ $DOWNLOAD_DIR == "$WORK" ]] && echo "tmpfs" || echo "$DOWNLOAD_DIR"))"
changed=$(git -C "$ROOT" status --porcelain -- crates | wc -l)
echo "envoi at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($changed uncommitted files under crates/); rustc $(rustc --version | awk '{print $2}');" \
    "nginx $(nginx -v 2>&1 | sed 's/.*\///'); $(uname -r); $(nproc) cores"
echo
"$BENCH" report "$RESULTS"
