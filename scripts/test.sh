#!/usr/bin/env bash
# The one test command: installs what the tests need when it is missing and it can, then runs the
# whole Maven test suite. Usage: scripts/test.sh [extra Maven arguments]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# Native BLAS for the core (the tests also run without it, on the Java implementations).
ensure_deb libopenblas0-pthread || echo "sparktrain: tests will run on pure-Java BLAS" >&2
mvn -B -ntp install "$@"
