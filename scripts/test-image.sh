#!/usr/bin/env bash
# `just test-image`: runs the built image's binaries: `--version` of each, then identity
# with a data directory of its own against a local nats-server until /readyz says ready,
# then SIGTERM and exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag="${TILLIT_IMAGE:-tillit:$version}"
storage=(--storage-driver vfs)
container=$(buildah "${storage[@]}" from "$tag")
work=$(mktemp -d)
cleanup() {
  [ -n "${identity:-}" ] && kill "$identity" 2>/dev/null || true
  [ -n "${nats:-}" ] && kill "$nats" 2>/dev/null || true
  buildah "${storage[@]}" rm "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
run() { buildah "${storage[@]}" run --isolation chroot --network host --user 10001:10001 "$@"; }

for binary in tillit-identity tillit-assets tillit-incidents tillit-reporting tillit-portal; do
  answer=$(run "$container" -- "/usr/local/bin/$binary" --version)
  [ "$answer" = "$binary $version" ] || { echo "test-image: $binary --version said: $answer" >&2; exit 1; }
  echo "test-image: $answer"
done
run "$container" -- /usr/local/bin/tillit --help >/dev/null && echo "test-image: tillit --help"

# The pid of the process named $2 below pid $1.
descendant() {
  local pid
  for pid in $(ps -o pid= --ppid "$1"); do
    if [ "$(ps -o comm= -p "$pid")" = "$2" ]; then echo "$pid"; return; fi
    descendant "$pid" "$2"
  done
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nats_port=$(port); admin_port=$(port); grpc_port=$(port)
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
"$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats" >/dev/null 2>&1 &
nats=$!
mount=$(buildah "${storage[@]}" mount "$container")
data="$mount/var/lib/tillit"
chown 10001:10001 "$data"
started=$(date +%s)
run --env TILLIT_NATS_URL="nats://127.0.0.1:$nats_port" --env TILLIT_DATA_DIR=/var/lib/tillit \
  --env TILLIT_IDENTITY_GRPC_ADDR="127.0.0.1:$grpc_port" --env TILLIT_IDENTITY_ADMIN_ADDR="127.0.0.1:$admin_port" \
  --env TILLIT_LOG_FORMAT=json "$container" -- /usr/local/bin/tillit-identity > "$work/identity.log" 2>&1 &
identity=$!
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1; then
    echo "test-image: identity from the image is ready after $(( $(date +%s) - started )) s ($(curl -fsS "http://127.0.0.1:$admin_port/readyz"))"
    # SIGTERM to the service itself, as the kubelet sends it (buildah run does not forward it).
    service=$(descendant "$identity" tillit-identity)
    [ -n "$service" ] || { echo "test-image: the identity process was not found" >&2; exit 1; }
    kill -TERM "$service"
    if wait "$identity"; then echo "test-image: identity stopped on SIGTERM with exit 0"; identity=; exit 0; fi
    echo "test-image: identity did not exit 0 on SIGTERM; its log:" >&2; cat "$work/identity.log" >&2; exit 1
  fi
  if ! kill -0 "$identity" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "test-image: identity from the image did not become ready; its log:" >&2
cat "$work/identity.log" >&2
exit 1
