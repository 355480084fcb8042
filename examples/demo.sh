#!/usr/bin/env bash
# The README's first command: installs everything (idempotent: Debian packages, Node.js and
# the mediasoup-client bundle, the Python environment and the package) and runs the
# video-conference demo. Options go to the demo (see --help), e.g. --port 8080 --workers 2.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/.ci/setup.sh"
exec "$repo/.venv/bin/python" -m mediasoup_py.demo "$@"
