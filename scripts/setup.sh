#!/usr/bin/env bash
# Create .venv, install the pinned stack and this package (editable: the scripts,
# the hiercls-* commands and `import hiercls` anywhere run this checkout's code).
# Re-running is cheap: it reinstalls only what changed. Needs only python3.11 and pip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required (the Triton stub and the pins are for 3.11), found {sys.version.split()[0]}"'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing requirements into .venv (first time: a few minutes, ~2 GB)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt -c constraints.txt
  echo "$want" > "$stamp"
fi
# The package itself, without dependencies (they are the pins above). Redone when
# pyproject.toml changes or the .venv's hiercls is another checkout's.
pkg_stamp=.venv/.hiercls-editable
want_pkg="$PWD $(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$pkg_stamp" 2>/dev/null)" != "$want_pkg" ] || [ ! -x .venv/bin/hiercls-train ]; then
  echo "installing hiercls into .venv (editable)" >&2
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want_pkg" > "$pkg_stamp"
fi
