#!/usr/bin/env bash
# Creates the git-ignored virtualenvs of the real client libraries the client tests drive
# against the emulators: .venv-clients/<name> from test/support/clients/<name>.txt (exact
# pins), from PyPI. A venv whose requirements did not change since it was made is kept, so a
# second run costs nothing. Needs python3 (3.11 here) with the venv module.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/test/support/clients"
python="${PYTHON:-python3}"

provision() {
  local name="$1" requirements="$here/$1.txt" venv="$root/.venv-clients/$1"
  local stamp="$venv/.requirements.sha256" wanted
  wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    echo "$name: up to date ($venv)"
    return
  fi
  echo "$name: creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
  echo "$wanted" > "$stamp"
  echo "$name: $("$venv/bin/python" -m pip list --format=freeze 2>/dev/null | grep -iE '^(pycti|vt-py)==')"
}

start=$SECONDS
# The three are independent: made side by side, each failure still reported.
pids=()
for name in pycti6 pycti7 vtpy; do
  provision "$name" &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
echo "client virtualenvs: $((SECONDS - start)) s"
exit "$status"
