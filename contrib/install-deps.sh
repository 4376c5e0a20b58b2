#!/bin/sh
# Installs the Debian packages xvafs needs to build, run and test.
# Run as root (or through sudo) on Debian 12 or later.
set -eu
PACKAGES="
  build-essential cmake pkg-config
  libfuse3-dev fuse3
  libarchive-dev libxml2-dev libxxhash-dev libssl-dev libjson-c-dev
  e2fsprogs fdisk util-linux mount tar gzip zstd python3 qemu-utils strace xorriso
  xxhash bc fio valgrind clang libclang-rt-dev passwd bash-completion dpkg-dev
  parted lvm2
  xfsprogs ntfs-3g dosfstools grub-common btrfs-progs cryptsetup-bin fuse2fs libfuse2
  libxen-dev libvirt-clients libxml2-utils
  nbdkit nbdkit-plugin-dev libnbd-bin python3-libnbd systemd
  libcurl4-openssl-dev curl ca-certificates openssl
  nginx-light python3-botocore awscli nodejs
  zlib1g-dev libzstd-dev pigz python3-indexed-gzip python3-jsonschema
  debhelper lintian autopkgtest procps
  qemu-system-x86 ovmf swtpm swtpm-tools libvirt-daemon-system
  grub-efi-amd64-bin extlinux syslinux-common busybox-static mtools
  dosfstools kmod cpio
"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The boot tests run Xen's pygrub, in the xen-utils of the release
# (xen-utils-4.17 in Debian 12).
xen_utils=$(apt-cache search --names-only '^xen-utils-4\.[0-9]+$' | awk '{ print $1 }' | sort -V | tail -1)
PACKAGES="$PACKAGES $xen_utils"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "install-deps: installed:" $PACKAGES

# The remote source's test servers (s3rver) and Xen Orchestra's remote
# handler (@xen-orchestra/fs, which writes the encrypted repositories), pinned by
# tests/servers/package-lock.json. npm comes with nodejs from some sources
# and as its own package from Debian's.
if ! command -v npm >/dev/null; then
	apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
servers=$(cd "$(dirname "$0")/../tests/servers" && pwd)
(cd "$servers" && npm ci --no-audit --no-fund --loglevel=error)
echo "install-deps: installed s3rver and @xen-orchestra/fs in $servers/node_modules"
