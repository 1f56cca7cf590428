#!/usr/bin/env bash
# 64 concurrent small GETs (issue 6): envoi's AsyncClient beside reqwest's async Client and
# hyper-util's legacy client, each on a tokio runtime, with wrk -t2 -c64 as the ceiling, over
# loopback against nginx. Prints Markdown tables (see BENCHMARKS.md); progress goes to stderr.
#
# Usage: CARGO_TARGET_DIR=/work/target-bench bench/run-concurrent-bench.sh
# Knobs (environment): RUNS (rounds, default 3), SECS (timed seconds per run, default 10),
# CONC (tasks / connections, default 64), THREADS (runtime shapes, default "2 1": a
# multi-thread runtime with 2 workers, and a current-thread one), CLIENTS (default
# "envoi reqwest hyper"), WORKERS (nginx worker_processes, default 1).
#
# Placement: no pinning; the client and nginx share the machine's cores (2 here). It starts
# its own nginx (own config, pid file and logs in a temp dir, a free loopback port; never the
# system service) and stops it on exit. Installs nginx and wrk with apt-get when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/nginx.sh
source "$ROOT/bench/nginx.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${RUNS:-3}
SECS=${SECS:-10}
CONC=${CONC:-64}
THREADS=${THREADS:-"2 1"}
CLIENTS=${CLIENTS:-"envoi reqwest hyper"}
WORKERS=${WORKERS:-1}
say() { echo "== $*" >&2; }

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

say "building the concurrent_* binaries (release) into $CARGO_TARGET_DIR"
bins=(--bin concurrent_bench)
for client in $CLIENTS; do bins+=(--bin "concurrent_$client"); done
(cd "$ROOT" && cargo build --release -q -p envoi-bench "${bins[@]}" >&2)
BIN=$CARGO_TARGET_DIR/release
BENCH=$BIN/concurrent_bench

make_workdir concurrent-bench 0
RESULTS=$WORK/results.txt
: >"$RESULTS"
mkdir -p "$WORK/www"
printf 'Hello, world\n' >"$WORK/www/small" # 13 bytes
chmod -R a+rX "$WORK/www"

PORT=$("$BENCH" port)
write_nginx_conf $WORKERS 1024 <<CONF
    default_type application/octet-stream;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000000;
    server {
        listen 127.0.0.1:$PORT backlog=1024;
        root $WORK/www;
        location = /stub_status { stub_status; }
    }
CONF
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT, worker_processes $WORKERS"
start_nginx "$PORT"
URL=http://127.0.0.1:$PORT

# The runs of one round in a different order each round: $1 = round, then the list.
rotate() {
    local round=$1
    shift
    local list=("$@") n=$#
    for ((i = 0; i < n; i++)); do echo "${list[$(((i + round) % n))]}"; done
}
record() { sed "s/^RESULT /RESULT round=$1 /" | tee -a "$RESULTS" >&2; }

runs=(wrk)
for client in $CLIENTS; do
    for threads in $THREADS; do runs+=("$client:$threads"); done
done
for round in $(seq "$RUNS"); do
    say "round $round/$RUNS"
    for run in $(rotate "$round" "${runs[@]}"); do
        if [[ $run == wrk ]]; then
            "$BENCH" wrk --tag wrk --stub "$URL/stub_status" -- \
                wrk -t2 -c"$CONC" -d"${SECS}s" "$URL/small" 2>/dev/null | record "$round"
        else
            "$BIN/concurrent_${run%:*}" --tag "c$CONC-t${run#*:}" --threads "${run#*:}" \
                --tasks "$CONC" --url "$URL/small" --secs "$SECS" --expect 13 \
                --stub "$URL/stub_status" | record "$round"
        fi
    done
done
if [[ -s $WORK/error.log ]]; then
    say "nginx's error log:"
    cat "$WORK/error.log" >&2
fi

cp "$RESULTS" "$CARGO_TARGET_DIR/concurrent-bench-results.txt"
say "raw results: $CARGO_TARGET_DIR/concurrent-bench-results.txt"
echo "Command: CARGO_TARGET_DIR=$CARGO_TARGET_DIR bench/run-concurrent-bench.sh" \
    "(RUNS=$RUNS SECS=$SECS CONC=$CONC THREADS=\"$THREADS\" WORKERS=$WORKERS)"
changed=$(git -C "$ROOT" status --porcelain -- crates | wc -l)
echo "envoi at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($changed uncommitted files under crates/); rustc $(rustc --version | awk '{print $2}')"
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') (worker_processes $WORKERS)," \
    "wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}'), $(uname -r), $(nproc) cores, no pinning"
echo
"$BENCH" report "$RESULTS"
