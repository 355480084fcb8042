#!/usr/bin/env bash
# The README's first command: sets up what the demo needs (idempotent: Node.js and npm when
# missing, the wheel with its mediasoup-client bundle, .venv with the wheel and its [demo]
# extra; no browsers or other test clients) and runs the video-conference demo. Options go to
# the demo (see --help), e.g. --port 8080 --workers 2.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/.ci/setup.sh" demo
exec "$repo/.venv/bin/mediasoup-py" demo "$@"
