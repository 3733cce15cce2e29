#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install the project into it (editable).
# Usage: bash tools/venv.sh [EXTRA]   e.g. `bash tools/venv.sh test` installs the test extra.
set -euo pipefail
cd "$(dirname "$0")/.."
find_python() {
    local cand
    for cand in "${PYTHON:-}" python3.12 python3.13 python3.14 python3; do
        [ -n "$cand" ] || continue
        if command -v "$cand" >/dev/null 2>&1 &&
            "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            echo "$cand"; return
        fi
    done
    for cand in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
        [ -x "$cand" ] && { echo "$cand"; return; }
    done
    echo "bwestimators needs Python >= 3.12; none found (set PYTHON=/path/to/python3.12)" >&2
    exit 1
}
if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
spec="."
[ $# -gt 0 ] && spec=".[$1]"
.venv/bin/python -m pip install --quiet --editable "$spec"
