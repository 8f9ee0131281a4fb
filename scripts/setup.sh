#!/usr/bin/env bash
# Installs the system packages wcfscope builds and tests with, idempotently.
# Debian/Ubuntu only (apt); on other systems it names what to install and goes on.
set -euo pipefail

# Build: OpenSSL and libpcap headers, pkg-config, make and a C compiler (jemalloc, the
# binary's allocator on Linux/macOS, is built from source). Tests: xmlsec1 and python3-lxml
# (independent reference implementations), tshark (reference decoder), Xvfb + Mesa
# (GUI smoke and snapshot tests on a software GPU), time (peak memory in `make bench`).
PACKAGES=(pkg-config make gcc libssl-dev openssl libpcap-dev xmlsec1 python3-lxml tshark
          xvfb mesa-vulkan-drivers libxkbcommon-x11-0 libgl1 libegl1 imagemagick time)

# A clean `make test` needs about 3.5 GB for target/. Say so up front: a full disk shows up
# much later as a linker crash (SIGBUS), far from its cause.
target_dir="${CARGO_TARGET_DIR:-target}"
probe_dir="$target_dir"
[ -d "$probe_dir" ] || probe_dir="."
free_kb=$(df -Pk "$probe_dir" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "${free_kb:-}" ] && [ "$free_kb" -lt $((4 * 1024 * 1024)) ]; then
  echo "setup: warning: only $((free_kb / 1024)) MB free for $target_dir; a clean build and test needs about 3.5 GB" >&2
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: not a Debian/Ubuntu system; install the equivalents of: ${PACKAGES[*]} (see README)" >&2
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
