# shellcheck shell=bash
# Shared by the bench/run-*.sh scripts (sourced, not run): a private work dir, and a private
# nginx in it that is stopped on exit. Never the system's nginx service.

# make_workdir NAME MIN_KIB: sets WORK to a new temp dir, on /dev/shm when that has more than
# MIN_KIB free (files are then served from memory), else under /tmp, and WORK_BASE to which.
# The dir is removed on exit, after its nginx is stopped and the script's `cleanup_extra`
# (if it defines one) has run.
make_workdir() {
    WORK_BASE=/tmp
    if [[ -w /dev/shm ]] && (($(df -k --output=avail /dev/shm | tail -1) > $2)); then
        WORK_BASE=/dev/shm
    fi
    WORK=$(mktemp -d "$WORK_BASE/envoi-$1.XXXXXX")
    chmod 755 "$WORK" # nginx's worker runs as nobody
    trap cleanup_workdir EXIT
}

cleanup_workdir() {
    if [[ -f $WORK/nginx.pid ]]; then
        local pid
        pid=$(cat "$WORK/nginx.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
    rm -rf "$WORK"
}

# start_nginx PORT [CPU]: starts nginx on $WORK/nginx.conf, pinned to CPU when one is given,
# and waits until it accepts connections on PORT.
start_nginx() {
    local pin=()
    if [[ -n ${2:-} ]]; then pin=(taskset -c "$2"); fi
    "${pin[@]}" nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log"
    for _ in $(seq 50); do
        [[ -s $WORK/nginx.pid ]] && (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nginx did not start on 127.0.0.1:$1 (see $WORK/error.log)" >&2
    return 1
}

# write_nginx_conf WORKERS CONNECTIONS: writes $WORK/nginx.conf: the part every benchmark
# shares (its pid file, logs and temp dirs in $WORK, no access log), then the directives of
# the http block read from standard input (server blocks included).
write_nginx_conf() {
    {
        cat <<CONF
worker_processes $1;
daemon on;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections $2; }
http {
    access_log off;
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
CONF
        cat
        echo "}"
    } >"$WORK/nginx.conf"
}
