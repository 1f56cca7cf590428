#!/usr/bin/env bash
# envoi's blocking client beside ureq, reqwest (blocking), hyper-util's legacy client and
# libcurl, with wrk as the ceiling, on loopback (issue 4, "Speed and memory"):
#   1. sequential small GETs on one keep-alive connection to nginx, client and nginx on one
#      core (a) and on separate cores (b);
#   2. a 1 GiB download from nginx, plain and over TLS;
#   3. a 256 MiB upload to envoi-testserver's /upload-sink;
#   4. stripped size and clean build time of a minimal "GET a URL and print it" program,
#      envoi (default features, and none) against ureq.
# Prints Markdown tables (see BENCHMARKS.md, "Client benchmarks"); progress goes to stderr.
#
# Usage: CARGO_TARGET_DIR=/work/target-bench bench/run-client-bench.sh
# Knobs (environment): RUNS (rounds of 1, default 3), GET_SECS (default 5), DL_RUNS (default
# 3), UP_RUNS (default 5), BUILD=0 skips 4, BUILD_RUNS (rounds of alternating clean builds
# of the envoi-min and ureq programs in 4, default 3), CLIENTS (default "envoi envoi-gzip
# ureq reqwest hyper curl"). `envoi` is client_envoi with envoi's default features; `envoi-gzip` the same
# program with only the `gzip` feature, as ureq's defaults are (its binary, and so its peak
# RSS, is that of a program built like ureq's).
#
# It starts its own nginx (own config, pid file and logs in a temp dir, a free loopback port;
# never the system service) and its own test server, and stops both on exit. Installs
# nginx, wrk and libcurl's headers with apt-get when they are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/nginx.sh
source "$ROOT/bench/nginx.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${RUNS:-3}
GET_SECS=${GET_SECS:-5}
DL_RUNS=${DL_RUNS:-3}
UP_RUNS=${UP_RUNS:-5}
BUILD_RUNS=${BUILD_RUNS:-3}
BUILD=${BUILD:-1}
CLIENTS=${CLIENTS:-"envoi envoi-gzip ureq reqwest hyper curl"}
BIG=$((1024 * 1024 * 1024))
UPLOAD=$((256 * 1024 * 1024))
say() { echo "== $*" >&2; }

# --- what the benchmark needs ----------------------------------------------------------------
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
command -v openssl >/dev/null || missing+=(openssl)
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

say "building client_bench and envoi-testserver (release) into $CARGO_TARGET_DIR"
bins=(--bin client_bench)
for client in $CLIENTS; do
    [[ $client == envoi-gzip ]] || bins+=(--bin "client_$client")
done
if [[ " $CLIENTS " == *" envoi-gzip "* ]]; then
    # First, since the full build below puts its own client_envoi in the same place.
    (cd "$ROOT" && cargo build --release -q -p envoi-bench --no-default-features \
        --features envoi-gzip --bin client_envoi >&2)
    cp "$CARGO_TARGET_DIR/release/client_envoi" "$CARGO_TARGET_DIR/release/client_envoi-gzip"
fi
(cd "$ROOT" && cargo build --release -q -p envoi-bench "${bins[@]}" >&2)
(cd "$ROOT" && cargo build --release -q -p envoi-testserver >&2)
BENCH=$CARGO_TARGET_DIR/release/client_bench
BIN=$CARGO_TARGET_DIR/release # client_envoi, client_ureq, ... one binary per client
TESTSERVER=$CARGO_TARGET_DIR/release/envoi-testserver

# --- a temp dir with certificates, files and nginx's config -----------------------------------
SERVER_PID=
cleanup_extra() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
}
make_workdir client-bench $((3 * 1024 * 1024)) # tmpfs: the 1 GiB file is served from memory
base=$WORK_BASE
RESULTS=$WORK/results.txt
: >"$RESULTS"

say "certificates (a CA and a leaf for 127.0.0.1, made by openssl)"
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=envoi bench CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=127.0.0.1" -keyout leaf.key -out leaf.csr 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile leaf.ext -out leaf.pem 2>/dev/null
)

mkdir -p "$WORK/www"
printf 'Hello, world\n' >"$WORK/www/small" # 13 bytes
if [[ $base == /dev/shm ]]; then
    head -c "$BIG" /dev/zero >"$WORK/www/big"
else
    truncate -s "$BIG" "$WORK/www/big" # sparse: read from the page cache's zero pages
fi
chmod -R a+rX "$WORK/www"

PORT=$("$BENCH" port)
TLS_PORT=$("$BENCH" port)
write_nginx_conf 1 64 <<EOF
    log_format tls '\$ssl_protocol \$ssl_cipher \$http_user_agent';
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000000;
    server {
        listen 127.0.0.1:$PORT;
        listen 127.0.0.1:$TLS_PORT ssl;
        ssl_certificate $WORK/leaf.pem;
        ssl_certificate_key $WORK/leaf.key;
        # nginx 1.22 leaves TLS 1.3 out of its default list (added in 1.23.4).
        ssl_protocols TLSv1.2 TLSv1.3;
        root $WORK/www;
        location = /stub_status { stub_status; }
        # Which protocol and cipher each download used (one line per download).
        location = /big { access_log $WORK/tls.log tls; }
    }
EOF
say "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$PORT (TLS :$TLS_PORT)"
start_nginx "$PORT" 1
URL=http://127.0.0.1:$PORT
TLS_URL=https://127.0.0.1:$TLS_PORT

# Moves nginx's master and worker to one CPU.
nginx_on() {
    local master
    master=$(cat "$WORK/nginx.pid")
    for pid in $master $(pgrep -P "$master"); do
        taskset -a -p -c "$1" "$pid" >/dev/null
    done
}

# The clients in a different order each round: $1 = round, then the list.
rotate() {
    local round=$1
    shift
    local list=("$@") n=$#
    for ((i = 0; i < n; i++)); do echo "${list[$(((i + round) % n))]}"; done
}

record() { sed "s/^RESULT /RESULT round=$1 /" | tee -a "$RESULTS" >&2; }

# --- 1. sequential small GETs ------------------------------------------------------------------
for round in $(seq "$RUNS"); do
    for placement in pinned split; do
        if [[ $placement == pinned ]]; then nginx_on 0; else nginx_on 1; fi
        say "GETs, round $round/$RUNS, $placement"
        for client in $(rotate "$round" $CLIENTS wrk); do
            if [[ $client == wrk ]]; then
                taskset -c 0 "$BENCH" exec --tag "get-$placement" --client wrk -- \
                    wrk -t1 -c1 -d"${GET_SECS}s" "$URL/small" 2>/dev/null | record "$round"
            else
                taskset -c 0 "$BIN/client_$client" --tag "get-$placement" --mode get \
                    --url "$URL/small" --secs "$GET_SECS" --expect 13 \
                    --stub "$URL/stub_status" | record "$round"
            fi
        done
    done
done

# --- 2. 1 GiB downloads -------------------------------------------------------------------------
nginx_on 1
for round in $(seq "$DL_RUNS"); do
    say "1 GiB downloads, round $round/$DL_RUNS"
    for client in $(rotate "$round" $CLIENTS); do
        taskset -c 0 "$BIN/client_$client" --tag dl-plain --mode download \
            --url "$URL/big" --bytes "$BIG" | record "$round"
        taskset -c 0 "$BIN/client_$client" --tag dl-tls --mode download \
            --url "$TLS_URL/big" --bytes "$BIG" --ca "$WORK/ca.pem" | record "$round"
    done
done

say "TLS downloads used: $(sort "$WORK/tls.log" | uniq -c | tr -s ' ' | paste -sd ';')"
sort "$WORK/tls.log" | uniq -c | sed 's/^ */TLS: /' >"$WORK/tls.summary"

# --- 3. 256 MiB uploads to the test server -------------------------------------------------------
taskset -c 1 "$TESTSERVER" >"$WORK/testserver.out" 2>"$WORK/testserver.err" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q '^http ' "$WORK/testserver.out" && break; sleep 0.1; done
SINK=$(awk '$1 == "http" { print $2 }' "$WORK/testserver.out")/upload-sink?sha256=false
say "envoi-testserver: $SINK"
for round in $(seq "$UP_RUNS"); do
    say "256 MiB uploads, round $round/$UP_RUNS"
    for client in $(rotate "$round" $CLIENTS); do
        taskset -c 0 "$BIN/client_$client" --tag upload --mode upload \
            --url "$SINK" --bytes "$UPLOAD" | record "$round"
    done
done
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# --- 4. minimal program: size and clean build time ----------------------------------------------
if [[ $BUILD == 1 ]]; then
    # envoi with its default features (all on), envoi with none of them (the blocking client
    # without decoding, cookies, charsets or tokio), and ureq with its defaults.
    for client in envoi envoi-min ureq; do
        dir=$WORK/min-$client
        mkdir -p "$dir/src"
        cp "$ROOT/Cargo.lock" "$dir/" # the versions the workspace uses
        if [[ $client == envoi* ]]; then
            if [[ $client == envoi-min ]]; then
                dep="envoi = { path = \"$ROOT/crates/envoi\", default-features = false }"
            else
                dep="envoi = { path = \"$ROOT/crates/envoi\" }"
            fi
            body='let text = envoi::blocking::Client::new()
        .and_then(|c| c.get(&url).send())
        .and_then(|r| r.text());
    match text {
        Ok(t) => print!("{t}"),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    }'
        else
            dep='ureq = "3"'
            body='let text = ureq::get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string());
    match text {
        Ok(t) => print!("{t}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }'
        fi
        cat >"$dir/Cargo.toml" <<EOF
[package]
name = "get-$client"
version = "0.1.0"
edition = "2021"

[dependencies]
$dep

[profile.release]
strip = true

[workspace]
EOF
        cat >"$dir/src/main.rs" <<EOF
fn main() {
    let url = std::env::args().nth(1).expect("usage: get URL");
    $body
}
EOF
        (cd "$dir" && cargo fetch -q >&2) # downloads are not build time
    done
    # Clean builds swing by several seconds between runs on this machine, so envoi-min and
    # ureq alternate for BUILD_RUNS rounds; the full envoi (over a minute) builds once.
    for round in $(seq 1 "$BUILD_RUNS"); do
        clients="envoi-min ureq"
        [[ $round == 1 ]] && clients="envoi $clients"
        for client in $clients; do
            dir=$WORK/min-$client
            rm -rf "$dir/target"
            say "clean release build of the minimal $client program, round $round/$BUILD_RUNS"
            (cd "$dir" && CARGO_TARGET_DIR=$dir/target "$BENCH" exec --tag build \
                --client "$client" -- cargo build --release -q) | record "$round"
            bin=$dir/target/release/get-$client
            got=$("$bin" "$URL/small")
            [[ $got == "Hello, world" ]] || { say "get-$client printed ${got@Q}"; exit 1; }
            echo "RESULT tag=size client=$client bytes=$(stat -c %s "$bin")" | record "$round"
            ls -l "$bin" >&2
        done
    done
fi

# --- the tables ----------------------------------------------------------------------------------
cp "$RESULTS" "$CARGO_TARGET_DIR/client-bench-results.txt"
say "raw results: $CARGO_TARGET_DIR/client-bench-results.txt"
echo "Command: CARGO_TARGET_DIR=$CARGO_TARGET_DIR bench/run-client-bench.sh" \
    "(RUNS=$RUNS GET_SECS=$GET_SECS DL_RUNS=$DL_RUNS UP_RUNS=$UP_RUNS BUILD_RUNS=$BUILD_RUNS)"
changed=$(git -C "$ROOT" status --porcelain -- crates | wc -l)
echo "envoi at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($changed uncommitted files under crates/); rustc $(rustc --version | awk '{print $2}')"
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}'), $(curl-config --version 2>/dev/null || echo libcurl), $(uname -r)"
echo "TLS downloads (count, protocol, cipher, user agent; \"-\" for a plain one):"
sed 's/^TLS: /    /' "$WORK/tls.summary"
echo
"$BENCH" report "$RESULTS"
