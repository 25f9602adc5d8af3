#!/usr/bin/env bash
# Installs everything medstore needs to build, test, benchmark and demo on Debian 12.
# Idempotent; needs root (or sudo). Package list verified in docs/ARCHITECTURE.md (see DEPS).
set -euo pipefail

pkgs=(
  # build
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  # libraries
  librocksdb-dev liburing-dev libsodium-dev libzstd-dev libisal-dev libgrpc-dev libssl-dev
  zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libxxhash-dev libjson-c-dev
  libxml2-dev
  # tools used by tests, demos and benchmarks
  openssl zstd fio python3 python3-pydicom dcmtk iproute2 procps psmisc util-linux ca-certificates
)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -E bash "$0" "$@"
  fi
  echo "deps.sh: must run as root to install packages" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${pkgs[@]}"
