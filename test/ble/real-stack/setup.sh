#!/usr/bin/env bash
# Prepares BlueZ's controller emulator for the real-stack BLE tests (test/ble/real-stack):
#   1. btvirt from Debian's bluez-test-tools (links only libc: apt-get download + dpkg-deb -x,
#      no install, nothing else from the package is used);
#   2. afalg-preload.so, built here with the machine's C compiler: btvirt's emulated controllers
#      open AF_ALG crypto sockets, which this kernel lacks; the library emulates them in user space;
#   3. the library's self-test (FIPS-197 and RFC 4493 vectors through the emulated sockets).
# Output in .cache/real-stack (or $BT_VIRT_CACHE). Idempotent; exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${BT_VIRT_CACHE:-$root/.cache/real-stack}"
mkdir -p "$out"

if [ ! -x "$out/btvirt" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work" # apt's download sandbox user must be able to write there
  # A fresh machine has no package lists yet: update once, only when the download needs it.
  if ! (cd "$work" && apt-get download -q bluez-test-tools >/dev/null 2>&1); then
    apt-get update -q >/dev/null
    (cd "$work" && chmod 777 . && apt-get download -q bluez-test-tools >/dev/null)
  fi
  dpkg-deb -x "$work"/bluez-test-tools_*.deb "$work/x"
  install -m 755 "$work/x/usr/bin/btvirt" "$out/btvirt"
fi

cc -O2 -Wall -Werror -shared -fPIC -o "$out/afalg-preload.so" "$here/afalg-preload.c" -ldl
cc -O2 -Wall -Werror -o "$out/afalg-selftest" "$here/afalg-selftest.c"
LD_PRELOAD="$out/afalg-preload.so" "$out/afalg-selftest" >"$out/selftest.txt" || {
  cat "$out/selftest.txt" >&2
  echo "real-stack set-up: the AF_ALG emulation failed its self-test" >&2
  exit 1
}
echo "real-stack set-up: btvirt and the AF_ALG emulation are ready in $out"
