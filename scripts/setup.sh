#!/usr/bin/env bash
# Creates .venv and installs the project with its development tools, once per
# change of pyproject.toml. Sourced by run.sh and check.sh.
#
# The install uses uv (from PyPI, put into the venv by pip) when it can be had: on a
# fresh machine with a cold cache it installs `.[dev]` in about 18 s where pip takes
# about 53 s (docs/DEPLOY.md). Without it, pip does the same work. Either way the
# installer's output goes to .venv/install.log and is shown only when it fails.
# uv is told to compile the installed modules' bytecode, as pip does by default (4-5 s
# more): the benchmarks start each bot with PYTHONDONTWRITEBYTECODE, and without it every
# one of their bot processes compiled aiogram, numpy … from source again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv …" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "Installing dependencies (log: .venv/install.log) …" >&2
  started=$SECONDS
  install_log=.venv/install.log
  : >"$install_log"
  installed=false
  if .venv/bin/python -m uv --version >>"$install_log" 2>&1 \
    || .venv/bin/python -m pip install --quiet uv >>"$install_log" 2>&1; then
    if .venv/bin/python -m uv pip install --quiet --compile-bytecode \
      --python .venv/bin/python -e '.[dev]' >>"$install_log" 2>&1; then
      installed=true
    else
      echo "uv could not install; trying pip" >>"$install_log"
    fi
  fi
  if [ "$installed" = false ]; then
    if ! { .venv/bin/python -m pip install --quiet --upgrade pip \
      && .venv/bin/python -m pip install --quiet -e '.[dev]'; } >>"$install_log" 2>&1; then
      grep -v "^WARNING: Location" "$install_log" | tail -n 40 >&2
      echo "Installing failed; the whole log is in $install_log." >&2
      exit 1
    fi
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
  echo "Installed in $((SECONDS - started)) s." >&2
fi
