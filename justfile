# Tillit's commands. `just --list` shows them.
set shell := ["bash", "-euo", "pipefail", "-c"]
export PATH := env_var("PATH") + ":/usr/sbin"

# Run the whole platform locally: its own NATS on 127.0.0.1:14222, data under .data/; Ctrl-C stops it.
up:
    scripts/ensure-deps.sh nats
    cargo build -p tillit-devstack
    exec target/debug/tillit-dev up

# Run every test: unit tests and integration tests against real nats-servers they start.
test:
    scripts/ensure-deps.sh nats smtp grpc
    cargo build --workspace --bins
    if command -v cargo-nextest >/dev/null; then cargo nextest run --workspace --no-fail-fast; else cargo test --workspace --no-fail-fast; fi
    cargo test --workspace --doc

# Formatting, clippy with warnings as errors, and buf lint of the protos.
lint:
    scripts/ensure-deps.sh buf
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cd proto && ../.tools/node_modules/.bin/buf lint

# Benchmarks in a release build; prints ratios against baselines measured in the same run.
bench:
    scripts/ensure-deps.sh nats
    cargo run --release -p tillit-bench

# Import assets from a CSV file (tenant,name,kind,owner_email,c,i,a[,external_key]) into the running platform.
# Log in with TILLIT_EMAIL and TILLIT_PASSWORD (or pass TILLIT_TOKEN).
import-assets FILE:
    cargo run -q -p tillit-assets --bin tillit-import-assets -- {{FILE}}

# Remove local data (the event log and every projection).
reset:
    rm -rf .data
