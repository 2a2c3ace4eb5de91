#!/usr/bin/env bash
# Installs omnisync and everything it needs on a fresh Debian/Ubuntu machine with Python >= 3.10.
#
# Which Python: the one `python3` (or $PYTHON) runs, when pip may install into it (a virtual
# environment, pyenv, conda). A distribution's own Python marked EXTERNALLY-MANAGED (PEP 668:
# Debian 12, Ubuntu 24.04) refuses pip installs so that they cannot break apt's packages; for
# it the script makes a virtual environment at .venv, the fix PEP 668 itself names, installs
# there, and links the `omnisync` command into /usr/local/bin so it works at once, in this
# shell. Tests then run with the venv's Python (`. .venv/bin/activate` puts it first).
#
# torch: kept if the chosen Python already has one (a user's CUDA build); otherwise the CPU
# build 2.13.0+cpu, pinned: these machines keep it on disk; elsewhere it comes from PyTorch's
# CPU index, since PyPI's torch (and an unpinned one) is the multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v espeak-ng >/dev/null 2>&1; then
  apt_install espeak-ng libespeak-ng1  # speaks the synthetic corpus (omnisync synth) and the example
fi

PY="${PYTHON:-python3}"
managed=$("$PY" -c 'import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
print(int(os.path.exists(marker) and sys.prefix == sys.base_prefix))')
if [ "$managed" = 1 ]; then
  if [ ! -x .venv/bin/python3 ]; then
    # Debian ships venv's pip bootstrap separately (python3-venv); a failed try leaves a stub
    "$PY" -m venv .venv >/dev/null 2>&1 || { rm -rf .venv; apt_install python3-venv; "$PY" -m venv .venv; }
  fi
  PY=.venv/bin/python3
fi

PIP=("$PY" -m pip install -q --disable-pip-version-check)
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  # The CPU build where pip's own sources hold it (these machines keep its wheel on disk), else
  # from PyTorch's CPU index: PyPI's torch for Linux is the CUDA build, gigabytes of GPU libraries.
  "${PIP[@]}" "torch==2.13.0+cpu" 2>/dev/null ||
    "${PIP[@]}" "torch==2.13.0+cpu" --extra-index-url https://download.pytorch.org/whl/cpu
fi
"${PIP[@]}" -e ".[face,dev]"

if [ "$managed" = 1 ]; then
  $SUDO ln -sf "$PWD/.venv/bin/omnisync" /usr/local/bin/omnisync
  echo "omnisync is installed in $PWD/.venv (this system Python is externally managed);" \
       "the command is linked at /usr/local/bin/omnisync. Tests: . .venv/bin/activate && python3 -m pytest -q"
fi
