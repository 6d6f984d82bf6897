# Sourced by scripts/serve and scripts/test: a virtualenv in .venv with the project installed.
# Installs from the lock files (requirements.lock, requirements-dev.lock; see scripts/lock).
# Usage: bootstrap_venv [dev]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

apt_install() {
  # apt_install PACKAGE... : installs Debian packages when we may (root or sudo).
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "Please install these Debian packages: $*" >&2; return 1
    fi
  fi
  if [ -z "${_APT_UPDATED:-}" ]; then $sudo apt-get update -qq >/dev/null; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_uv() {
  # uv writes the lock files (scripts/lock); it is a dev dependency, so it comes from the
  # current lock (a stale lock still installs: re-locking is what brings it up to date).
  bootstrap_venv dev
  UV="$VENV/bin/uv"
}

bootstrap_venv() {
  # bootstrap_venv [dev]: installs the pinned, hash-checked dependencies from the lock file
  # (requirements.lock, or requirements-dev.lock for dev), then the project itself without
  # dependencies. Re-installs when the lock file or pyproject.toml changed.
  local extras="${1:-}"
  local python
  if ! python="$(find_python)"; then
    echo "Python >= 3.11 is required; installing Debian's python3" >&2
    apt_install python3 python3-venv python3-dev
    python="$(find_python)"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$python" -m venv "$VENV" || { apt_install python3-venv && "$python" -m venv "$VENV"; }
  fi
  local lock="$ROOT/requirements.lock"
  [ "$extras" = dev ] && lock="$ROOT/requirements-dev.lock"
  local stamp="$VENV/.installed-${extras:-base}"
  local digest
  digest="$(cat "$lock" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip >/dev/null
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$lock"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT"
    echo "$digest" > "$stamp"
  fi
}

ensure_postgres_binaries() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    echo "Installing PostgreSQL server binaries (Debian package postgresql)" >&2
    apt_install postgresql
  fi
}
