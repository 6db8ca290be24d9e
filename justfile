# Tillit's commands. `just --list` shows them.
set shell := ["bash", "-euo", "pipefail", "-c"]
export PATH := env_var("PATH") + ":/usr/sbin"

# Run the whole platform locally: its own NATS on 127.0.0.1:14222, data under .data/; Ctrl-C stops it.
up:
    scripts/ensure-deps.sh nats
    cargo build -p tillit-devstack
    exec target/debug/tillit-dev up

# Run every test: doc tests, then unit tests and integration tests against real nats-servers
# they start; the last line is the test runner's summary.
test:
    scripts/ensure-deps.sh nats smtp grpc browser promtool chart nats-latest
    cargo build --workspace --bins
    just chart-test
    .tools/venv/bin/hadolint Dockerfile
    cargo test --workspace --doc --quiet
    if command -v cargo-nextest >/dev/null; then cargo nextest run --workspace --no-fail-fast; else cargo test --workspace --lib --bins --tests --no-fail-fast; fi

# The Helm chart: strict lint, renders validated against the Kubernetes schemas, policy
# checks, the rendered configuration started for real, bad values refused, the README.
chart-test:
    scripts/ensure-deps.sh nats chart
    cargo build --workspace --bins
    .tools/venv/bin/python scripts/chart_test.py

# The cluster fault scenarios that take minutes (the leader kill runs in `just test`): a
# node cut off for 10 s and a rolling restart, on three nodes of the pinned nats-server.
test-cluster:
    scripts/ensure-deps.sh nats nats-latest
    cargo nextest run -p tillit-integration-tests --test kernel --run-ignored all -E 'test(/cluster::/)' --no-capture

# Every test against the pinned current nats-server instead of Debian's.
test-nats-latest:
    scripts/ensure-deps.sh nats smtp grpc browser promtool chart nats-latest
    cargo build --workspace --bins
    NATS_SERVER_BIN=$PWD/.tools/nats-latest/bin/nats-server cargo nextest run --workspace --no-fail-fast

# Each fuzz target for SECONDS (on stable: no sanitizer); prints runs per target. Crashes
# land in fuzz/artifacts/<target>/ and fail the run.
fuzz SECONDS="60":
    scripts/ensure-deps.sh fuzz
    scripts/fuzz.sh {{SECONDS}}

# The container image, offline: release binaries and their libraries in the Dockerfile's
# `offline` stage, built from scratch with buildah. Prints build time and size.
image:
    scripts/image.sh

# Runs binaries of the built image: --version of each, identity against a local NATS until ready.
test-image:
    scripts/ensure-deps.sh nats buildah
    scripts/test-image.sh

# Formatting, clippy with warnings as errors, and buf lint of the protos.
lint:
    scripts/ensure-deps.sh buf
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cd proto && ../.tools/node_modules/.bin/buf lint
    python3 scripts/check-layers.py

# Benchmarks in a release build; prints ratios against baselines measured in the same run.
# `just bench g h` runs only the measurements named (a to h, see tools/bench).
bench *only:
    scripts/ensure-deps.sh nats
    cargo run --release -p tillit-bench -- {{only}}

# Import assets from a CSV file (tenant,name,kind,owner_email,c,i,a[,external_key]) into the running platform
# with `tillit assets import`; with TILLIT_EMAIL (and TILLIT_PASSWORD) set it logs in first.
import-assets FILE:
    cargo build -q -p tillit-cli
    if [ -n "${TILLIT_EMAIL:-}" ]; then target/debug/tillit login --email "$TILLIT_EMAIL"; fi
    target/debug/tillit assets import {{FILE}}

# Remove local data (the event log and every projection).
reset:
    rm -rf .data
