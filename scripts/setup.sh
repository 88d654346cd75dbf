#!/usr/bin/env bash
# Set up everything sailmesh needs on a fresh machine: system packages (when root and missing)
# and a local virtual environment (.venv) with the project and its dev tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

install_system_packages() {
    # iptables and iproute2 give pods their network namespaces and capture rules; curl is
    # what the curl sample image's pods run (`sailctl exec deploy/curl -- curl ...`);
    # prometheus is the metrics add-on (`sailctl up --addons prometheus`) and the telemetry
    # tests' server; chromium is the browser the dashboard's tests drive (Playwright with the
    # system browser: Playwright's own browser download cannot reach the internet here); wrk
    # and nginx are the load client and the server of the data-plane benchmark.
    local missing=()
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    [ -x /usr/bin/prometheus ] || missing+=(prometheus)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing system packages: ${missing[*]} (install them as root; continuing without)"
        return 0
    fi
    log "installing system packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_system_packages

PY=$(find_python) || { echo "sailmesh needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $PY"
    "$PY" -m venv .venv
fi

stamp=.venv/.sailmesh-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing sailmesh and its dependencies into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    echo "$want" > "$stamp"
fi
