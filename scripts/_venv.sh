# Sourced by scripts/demo, scripts/test and .ci/run: make sure .venv exists with the
# pinned requirements installed, then put it first on PATH.
#
# Installing is skipped when requirements.txt has not changed since the last install,
# so a second run starts at once (and works offline); delete .venv to start afresh.

_kyvs_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_kyvs_venv="${KYVS_VENV:-$_kyvs_root/.venv}"

if [[ ! -x "$_kyvs_venv/bin/python" ]]; then
    _kyvs_python=""
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            _kyvs_python="$candidate"
            break
        fi
    done
    if [[ -z "$_kyvs_python" ]]; then
        echo "KYVS needs Python 3.11 or newer (python3.11 or python3 on PATH)." >&2
        exit 1
    fi
    echo "Creating $_kyvs_venv with $("$_kyvs_python" --version)"
    "$_kyvs_python" -m venv "$_kyvs_venv"
fi

_kyvs_stamp="$_kyvs_venv/.kyvs-requirements.sha256"
_kyvs_wanted="$(sha256sum "$_kyvs_root/requirements.txt" | cut -d' ' -f1)"
if [[ "$(cat "$_kyvs_stamp" 2>/dev/null)" != "$_kyvs_wanted" ]]; then
    echo "Installing requirements.txt into $_kyvs_venv"
    "$_kyvs_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$_kyvs_root/requirements.txt"
    echo "$_kyvs_wanted" >"$_kyvs_stamp"
fi

export VIRTUAL_ENV="$_kyvs_venv"
export PATH="$_kyvs_venv/bin:$PATH"
unset _kyvs_python _kyvs_stamp _kyvs_wanted candidate
