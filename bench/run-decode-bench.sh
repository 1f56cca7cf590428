#!/usr/bin/env bash
# Transparent gzip decoding (issue 5): envoi's blocking client beside ureq, reqwest (blocking)
# and libcurl, each GETting a 64 MiB JSON-like body that nginx serves gzip-encoded
# (`gzip_static`, a file made by `gzip -6`) and reading it decoded through a 1 MiB buffer;
# then the same body sent as it is (identity) as the baseline. hyper-util's legacy client has
# no transparent decoding and is not run. Prints Markdown tables (decoded MB/s, client CPU
# s/GiB, peak RSS, ratios to the best peer per round); progress goes to stderr.
#
# Usage: CARGO_TARGET_DIR=/work/target-bench bench/run-decode-bench.sh
# Knobs (environment): RUNS (rounds, default 9), SIZE (decoded bytes, default 64 MiB), CLIENTS
# (default "envoi ureq reqwest curl"), LOCK (a file to `flock` around each timed run, so that
# benchmarks sharing the machine take turns; default none).
#
# It starts its own nginx (own config, pid file and logs in a temp dir, a free loopback port;
# never the system service) and stops it on exit. Installs nginx and libcurl's headers with
# apt-get when they are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/nginx.sh
source "$ROOT/bench/nginx.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${RUNS:-9}
SIZE=${SIZE:-$((64 * 1024 * 1024))}
CLIENTS=${CLIENTS:-"envoi ureq reqwest curl"}
LOCK=${LOCK:-}
say() { echo "== $*" >&2; }

# --- what the benchmark needs ----------------------------------------------------------------
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v gzip >/dev/null || missing+=(gzip)
command -v taskset >/dev/null || missing+=(util-linux)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists libcurl 2>/dev/null || missing+=(libcurl4-openssl-dev)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
if (($(nproc) < 2)); then
    say "needs 2 cores for the pinned placements; found $(nproc)"
    exit 1
fi
if ! nginx -V 2>&1 | grep -q -- --with-http_gzip_static_module; then
    say "this nginx has no gzip_static module"
    exit 1
fi
for client in $CLIENTS; do
    if [[ $client == hyper ]]; then
        say "hyper-util has no transparent decoding; leave it out of CLIENTS"
        exit 1
    fi
done

say "building client_bench and the clients (release) into $CARGO_TARGET_DIR"
bins=(--bin client_bench)
for client in $CLIENTS; do bins+=(--bin "client_$client"); done
(cd "$ROOT" && cargo build --release -q -p envoi-bench "${bins[@]}" >&2)
BENCH=$CARGO_TARGET_DIR/release/client_bench
BIN=$CARGO_TARGET_DIR/release # client_envoi, client_ureq, ... one binary per client

# --- a temp dir with the body, its gzip file and nginx's config -------------------------------
make_workdir decode-bench $((3 * SIZE / 1024)) # tmpfs: both files are served from memory
RESULTS=$WORK/results.txt
: >"$RESULTS"

say "generating $SIZE bytes of JSON-like text and gzip -6 of it"
mkdir -p "$WORK/www/gz" "$WORK/www/id"
"$BENCH" gen-json "$SIZE" >"$WORK/www/gz/big"
gzip -6 -n -k "$WORK/www/gz/big" # big.gz beside big: what gzip_static serves
ln "$WORK/www/gz/big" "$WORK/www/id/big"
chmod -R a+rX "$WORK/www"
GZ_SIZE=$(stat -c %s "$WORK/www/gz/big.gz")
say "big: $SIZE bytes, big.gz: $GZ_SIZE bytes ($(awk -v a="$SIZE" -v b="$GZ_SIZE" 'BEGIN{printf "%.2f", a/b}')×)"
head -c 300 "$WORK/www/gz/big" | head -2 >&2

PORT=$("$BENCH" port)
write_nginx_conf 1 64 <<EOF
    # One line per download: what nginx sent (status, body bytes, Content-Encoding).
    log_format sent '\$status \$body_bytes_sent \$bytes_sent \$sent_http_content_encoding \$uri';
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
        access_log $WORK/sent.log sent;
        # A client that asks for gzip gets big.gz with Content-Encoding: gzip (no compression
        # at request time: the file is precompressed).
        location /gz/ { gzip_static on; }
        # The same body, never encoded.
        location /id/ { gzip_static off; gzip off; }
    }
EOF
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT"
start_nginx "$PORT" 1
master=$(cat "$WORK/nginx.pid")
for pid in $master $(pgrep -P "$master"); do taskset -a -p -c 1 "$pid" >/dev/null; done
URL=http://127.0.0.1:$PORT
touch "$WORK/sent.log"
ENCODING=
SENT=

# The clients in a different order each round: $1 = round, then the list.
rotate() {
    local round=$1
    shift
    local list=("$@") n=$#
    for ((i = 0; i < n; i++)); do echo "${list[$(((i + round) % n))]}"; done
}

# Runs one client (pinned to core 0, under the lock if any), then appends what nginx's log
# says it sent for that request to the RESULT line and sets ENCODING and SENT from it:
# $1 = round, $2 = client, the rest the client's flags.
one() {
    local round=$1 client=$2
    shift 2
    local before line out
    before=$(wc -l <"$WORK/sent.log")
    if [[ -n $LOCK ]]; then
        out=$(flock "$LOCK" taskset -c 0 "$BIN/client_$client" "$@")
    else
        out=$(taskset -c 0 "$BIN/client_$client" "$@")
    fi
    for _ in $(seq 50); do
        (($(wc -l <"$WORK/sent.log") > before)) && break
        sleep 0.02
    done
    line=$(tail -n +"$((before + 1))" "$WORK/sent.log")
    if (($(wc -l <<<"$line") != 1)); then
        say "expected one access-log line for $client, got: $line"
        exit 1
    fi
    local status
    read -r status SENT _ ENCODING _ <<<"$line"
    [[ $status == 200 ]] || { say "$client: status $status"; exit 1; }
    echo "$out" | sed "s/^RESULT /RESULT round=$round /; s/\$/ nginx_sent=$SENT nginx_ce=$ENCODING/" |
        tee -a "$RESULTS" >&2
}

for round in $(seq "$RUNS"); do
    say "round $round/$RUNS"
    for client in $(rotate "$round" $CLIENTS); do
        one "$round" "$client" --tag decode --mode decode --url "$URL/gz/big" --bytes "$SIZE"
        if [[ $ENCODING != gzip || $SENT != "$GZ_SIZE" ]]; then
            say "$client: nginx sent $SENT bytes with Content-Encoding '$ENCODING', not big.gz"
            exit 1
        fi
        one "$round" "$client" --tag identity --mode download --url "$URL/id/big" --bytes "$SIZE"
        if [[ $ENCODING != - || $SENT != "$SIZE" ]]; then
            say "$client: nginx sent $SENT bytes with Content-Encoding '$ENCODING' for identity"
            exit 1
        fi
    done
done

# --- the tables ----------------------------------------------------------------------------------
cp "$RESULTS" "$CARGO_TARGET_DIR/decode-bench-results.txt"
say "raw results: $CARGO_TARGET_DIR/decode-bench-results.txt"
echo "Command: CARGO_TARGET_DIR=$CARGO_TARGET_DIR bench/run-decode-bench.sh (RUNS=$RUNS SIZE=$SIZE)"
changed=$(git -C "$ROOT" status --porcelain -- crates | wc -l)
echo "envoi at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($changed uncommitted files under crates/); rustc $(rustc --version | awk '{print $2}')"
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(curl-config --version 2>/dev/null || echo libcurl)," \
    "$(gzip --version | head -1), $(uname -r)"
echo "Body: $SIZE bytes of JSON-like text (client_bench gen-json), big.gz $GZ_SIZE bytes" \
    "($(awk -v a="$SIZE" -v b="$GZ_SIZE" 'BEGIN{printf "%.2f", a/b}')×, gzip -6)."
echo
"$BENCH" report-decode "$RESULTS"
