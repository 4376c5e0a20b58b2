#!/bin/sh
# Installs the Debian packages xvafs needs to build, run and test.
# Run as root (or through sudo) on Debian 12 or later.
set -eu
PACKAGES="
  build-essential cmake pkg-config
  libfuse3-dev fuse3
  libarchive-dev libxml2-dev libxxhash-dev libssl-dev libjson-c-dev
  e2fsprogs fdisk util-linux mount tar gzip zstd python3 qemu-utils strace
  xxhash bc fio valgrind clang libclang-rt-dev passwd bash-completion dpkg-dev
  parted lvm2
  zlib1g-dev libzstd-dev pigz python3-indexed-gzip
"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "install-deps: installed:" $PACKAGES
