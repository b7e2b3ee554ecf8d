#!/usr/bin/env bash
# Regenerates constraints.txt: every package the project and its dev extra install, at the
# version pip picks today, resolved on the oldest supported Python (3.11) so the pins install
# there and on the newest (CI checks 3.13). Run after changing dependencies in pyproject.toml:
#   bash tools/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python3.11}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --upgrade pip >/dev/null
"$tmp/venv/bin/pip" install --quiet '.[dev]'
{
  echo "# Pins for every dependency of socialbot and its dev extra, used by the Dockerfile and .ci/run"
  echo "# (pip install -c constraints.txt …). Regenerate with: bash tools/lock.sh"
  echo "# (a fresh Python 3.11 venv, pip install '.[dev]', pip freeze). Do not edit by hand."
  "$tmp/venv/bin/pip" freeze --all --exclude-editable | grep -v -i -E '^(socialbot|pip|setuptools|wheel)[= @]'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pins"
