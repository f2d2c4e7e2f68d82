#!/usr/bin/env bash
# Installs the Debian packages Tuku needs, only those missing. Idempotent.
#   scripts/deps.sh            build and run: libvips, pkg-config, gcc
#   scripts/deps.sh test       + PostgreSQL server, Chromium and CJK fonts (browser tests)
#   scripts/deps.sh bench      + exiftool, vipsthumbnail
set -euo pipefail
pkgs=(libvips-dev pkg-config gcc)
case "${1:-}" in
  test)  pkgs+=(postgresql libvips-tools chromium fonts-noto-cjk) ;;
  bench) pkgs+=(libvips-tools libimage-exiftool-perl postgresql) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
