#!/usr/bin/env bash
# A real S3-compatible server on loopback for tests: OpenStack Swift with its s3api
# middleware, which checks SigV4 signatures (a wrong secret gets 403). Everything lives
# under one scratch folder; only the processes started here are stopped.
#   scripts/s3-server.sh start DIR [PORT]   -> prints "ready" when it answers
#   scripts/s3-server.sh stop DIR
# Credentials: access key test:tester, secret testing, region us-east-1, path-style.
set -euo pipefail
cmd=${1:?start|stop}
B=${2:?scratch folder}
PORT=${3:-8080}
mkdir -p "$B"
B=$(cd "$B" && pwd)

stop() {
  if [ -f "$B/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$B/pids"
    sleep 0.5
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$B/pids"
    rm -f "$B/pids"
  fi
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

stop
mkdir -p "$B/etc" "$B/node/sdb1" "$B/log"
# Ports for the back-end servers follow the proxy port so several servers can coexist.
OBJ=$((PORT + 100)); CON=$((PORT + 101)); ACC=$((PORT + 102))
default() {
  cat <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
mount_check = false
devices = $B/node
swift_dir = $B/etc
log_udp_host = 127.0.0.1
log_udp_port = 5140
CONF
}
cd "$B/etc"
# Rings name the back-end ports, so they are rebuilt on every start.
rm -rf ./*.builder ./*.ring.gz backups
for spec in object:$OBJ container:$CON account:$ACC; do
  name=${spec%%:*}; port=${spec##*:}
  swift-ring-builder $name.builder create 10 1 1 >/dev/null
  swift-ring-builder $name.builder add r1z1-127.0.0.1:$port/sdb1 100 >/dev/null
  swift-ring-builder $name.builder rebalance >/dev/null
done
for spec in object:$OBJ container:$CON account:$ACC; do
  name=${spec%%:*}; port=${spec##*:}
  { default "$port"
    echo "[pipeline:main]"; echo "pipeline = $name-server"
    echo "[app:$name-server]"; echo "use = egg:swift#$name"
    echo "[$name-replicator]"; echo "[$name-updater]"; echo "[$name-auditor]"
  } > "$name-server.conf"
done
{ default "$PORT"
  cat <<'CONF'
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
} > proxy-server.conf
: > "$B/pids"
for s in object container account proxy; do
  setsid swift-$s-server "$B/etc/$s-server.conf" >"$B/log/$s.log" 2>&1 &
  echo $! >> "$B/pids"
done
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 150); do
  # Ready when the proxy answers and the object, container and account servers listen.
  if curl -sf "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1 && port_open $OBJ && port_open $CON && port_open $ACC; then
    echo ready
    exit 0
  fi
  sleep 0.2
done
echo "s3-server: not answering on port $PORT; logs in $B/log" >&2
tail -20 "$B/log/proxy.log" >&2 || true
stop
exit 1
