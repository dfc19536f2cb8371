#!/usr/bin/env bash
# Set up .venv (if needed) and run the whole test suite, including the tests that
# start a real tritonserver on free loopback ports. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python -m ruff check hiercls training builders clients benchmarks tests
exec .venv/bin/python -m pytest "$@"
