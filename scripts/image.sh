#!/usr/bin/env bash
# `just image`: the image, offline. Builds the release binaries, gathers them and exactly
# the shared libraries they link (from ldd) into target/image-root/, and builds the
# Dockerfile's `offline` stage from scratch with buildah (vfs storage, chroot isolation:
# no daemon, no registry). Prints the build time and the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh buildah
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag="${TILLIT_IMAGE:-tillit:$version}"
binaries=(tillit-identity tillit-assets tillit-incidents tillit-reporting tillit-portal tillit)
started=$(date +%s)

cargo build --release --locked --bins -p tillit-identity -p tillit-assets -p tillit-incidents \
  -p tillit-reporting -p tillit-portal -p tillit-cli

root=target/image-root
rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
for binary in "${binaries[@]}"; do
  install -m 0755 "target/release/$binary" "$root/usr/local/bin/$binary"
  # Symbols are for debuggers, not for a pod.
  if command -v strip >/dev/null; then strip --strip-unneeded "$root/usr/local/bin/$binary"; fi
  # Each library the binary links, and the dynamic loader, at the path it is found at.
  ldd "target/release/$binary" | grep -o '/[^ ]*' | while read -r library; do
    mkdir -p "$root$(dirname "$library")"
    cp -L -n "$library" "$root$library"
  done
done
# The user the image runs as (and the chart's fixed uid), for tools that look it up.
printf 'root:x:0:0:root:/root:/sbin/nologin\ntillit:x:10001:10001:tillit:/var/lib/tillit:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\ntillit:x:10001:\n' > "$root/etc/group"
mkdir -p "$root/var/lib/tillit"

buildah --storage-driver vfs bud --isolation chroot --layers=false --target offline \
  --build-arg "VERSION=$version" -f Dockerfile -t "$tag" . >/dev/null
finished=$(date +%s)
size=$(buildah --storage-driver vfs images --format '{{.Size}}' "$tag" | head -1)
echo "image $tag built in $((finished - started)) s; size $size ($(du -sh "$root" | cut -f1) on disk: ${#binaries[@]} binaries and $(find "$root/lib" "$root/lib64" "$root/usr/lib" -type f 2>/dev/null | wc -l) libraries)"
