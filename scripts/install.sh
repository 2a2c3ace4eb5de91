#!/usr/bin/env bash
# Installs omnisync and everything it needs on a fresh Debian/Ubuntu machine with Python >= 3.10.
# torch goes first and pinned: 2.13.0 is the CPU build these machines keep on disk; an unpinned
# torch would pull a multi-GB CUDA build. Users with a GPU install their own torch build first,
# then run this with OMNISYNC_KEEP_TORCH=1.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v espeak-ng >/dev/null 2>&1; then
  # espeak-ng speaks the synthetic training corpus (omnisync synth) and the bundled example
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng libespeak-ng1 >/dev/null
fi

PY="${PYTHON:-python3}"
if [ -z "${OMNISYNC_KEEP_TORCH:-}" ]; then
  "$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0"
fi
"$PY" -m pip install -q --disable-pip-version-check -e ".[face,dev]"
