#!/usr/bin/env bash
# Builds the Python module and runs its tests: a virtual environment (.venv-python, ignored by git) with
# maturin, pytest, numpy and ml_dtypes from PyPI, `pip install ./python` (a release build of the crate
# through maturin), then pytest. The CLI identity tests use the `davinci` binary: $DAVINCI_BIN, else the
# newest of target/release and target/debug (build one first, e.g. `cargo build`).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${DAVINCI_VENV:-.venv-python}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check maturin pytest numpy ml_dtypes
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python
# Mesa's window-system code complains when this is unset; compute needs no window system.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/davinci-xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# From the tests' folder, so that `import davinci` is the installed package, not python/davinci.
cd python/tests
exec "../../$venv/bin/python" -m pytest -q "$@" .
