#!/usr/bin/env bash
# The README's first command: installs everything (idempotent) and runs the main job.
# Until the conference demo exists, the main job is the installation self-check, which drives
# the native module end to end and reports what it did.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/.ci/setup.sh"
exec "$repo/.venv/bin/python" -m mediasoup_py.selfcheck "$@"
