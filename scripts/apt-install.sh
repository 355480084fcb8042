#!/usr/bin/env bash
# Installs the Debian packages given (names, or paths to .deb files) that are not installed
# yet, waiting up to APT_LOCK_WAIT_S seconds (default 600) for the package manager's lock when
# another apt or dpkg holds it (first-boot upgrades, another set-up) instead of failing. It
# installs from the package lists as they are, and runs `apt-get update` first only when that
# fails (a fresh machine's lists are empty or stale). Root, or sudo, for apt-get. Its last line
# of output says what it did.
# Usage: bash scripts/apt-install.sh PACKAGE...
#        bash scripts/apt-install.sh --update   (only `apt-get update`, waiting for the lock)
set -euo pipefail

lock_wait_s=${APT_LOCK_WAIT_S:-600}
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_get() {
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get -q -y \
    -o DPkg::Lock::Timeout="$lock_wait_s" "$@"
}

# The package lists' lock ignores DPkg::Lock::Timeout: retry while another apt holds it.
apt_update() {
  local deadline=$((SECONDS + lock_wait_s)) output
  while true; do
    if output=$(apt_get update 2>&1); then
      echo "$output"
      return 0
    fi
    echo "$output"
    if ! grep -q "Could not get lock" <<<"$output" || [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 2
  done
}

if [ "${1:-}" = --update ]; then
  apt_update
  echo "updated the package lists"
  exit 0
fi

missing=()
for package in "$@"; do
  name=$package
  # A .deb file is installed when its package is.
  if [ -f "$package" ]; then name=$(dpkg-deb -f "$package" Package); fi
  dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "all installed"
  exit 0
fi
if ! apt_get install --no-install-recommends "${missing[@]}"; then
  apt_update
  apt_get install --no-install-recommends "${missing[@]}"
fi
echo "installed ${missing[*]}"
