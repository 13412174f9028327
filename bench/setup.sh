#!/usr/bin/env bash
# Create or refresh the benchmark environment: a separate virtualenv holding aws-sam-cli, cookiecutter,
# python-lambda-local and slsgen (with its runner, runner/) installed from this checkout (non-editable, byte-compiled: what
# `pip install slsgen` gives a user). bench_new.py uses sam and cookiecutter, bench_runner.py python-lambda-local.
#
#   bash bench/setup.sh [VENV]          VENV defaults to .bench/venv at the repository root (git-ignored)
#
# Environment:
#   PYTHON       interpreter for the venv (default: python3)
#   UV           uv binary to use (default: uv on PATH, else the repository's .venv/bin/uv, else pip is used)
#   SAM_SPEC     requirement for the SAM CLI (default: aws-sam-cli)
#   CC_SPEC      requirement for cookiecutter (default: cookiecutter)
#   LL_SPEC      requirement for python-lambda-local (default: python-lambda-local)
#   LL_DEPS      what it needs besides (default: setuptools<81, for the pkg_resources it imports)
#   BENCH_FRESH  1 to delete the venv and build it from scratch
#   BENCH_PIP    1 to use python -m venv and pip even when uv is there
#
# Only PyPI is reached. The venv is re-used across runs; slsgen is always reinstalled from the working tree so
# that the bench measures the current code. Byte-compiling at install matters: without .pyc files (and with
# PYTHONDONTWRITEBYTECODE set, as on CI machines) every run would recompile every module it imports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.bench/venv}"
PYTHON="${PYTHON:-python3}"
SAM_SPEC="${SAM_SPEC:-aws-sam-cli}"
CC_SPEC="${CC_SPEC:-cookiecutter}"
LL_SPEC="${LL_SPEC:-python-lambda-local}"
# python-lambda-local 0.1.13 imports pkg_resources, which setuptools dropped after 81.
LL_DEPS="${LL_DEPS:-setuptools<81}"

if [[ "${BENCH_PIP:-0}" == "1" ]]; then
    UV=""
elif [[ -z "${UV:-}" ]]; then
    if command -v uv >/dev/null 2>&1; then
        UV="$(command -v uv)"
    elif [[ -x "$ROOT/.venv/bin/uv" ]]; then
        UV="$ROOT/.venv/bin/uv"
    fi
fi

start=$(date +%s.%N)
if [[ "${BENCH_FRESH:-0}" == "1" ]]; then
    rm -rf "$VENV"
fi
mkdir -p "$(dirname "$VENV")"

if [[ -n "${UV:-}" ]]; then
    echo "bench setup: uv ($("$UV" --version)) -> $VENV" >&2
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$UV" venv --quiet --python "$PYTHON" "$VENV"
    fi
    # --reinstall-package slsgen: uv caches a local folder's build by its pyproject.toml only, so without it an
    # edited generator/ would not reach the venv.
    "$UV" pip install --quiet --python "$VENV/bin/python" --compile-bytecode \
        --reinstall-package slsgen --reinstall-package slsgen-runner "$SAM_SPEC" "$CC_SPEC" "$LL_SPEC" "$LL_DEPS" \
        "$ROOT/runner" "$ROOT"
else
    echo "bench setup: pip -> $VENV" >&2
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet "$SAM_SPEC" "$CC_SPEC" "$LL_SPEC" "$LL_DEPS" "$ROOT/runner" "$ROOT"
    "$VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall "$ROOT/runner" "$ROOT"
fi

for tool in sam cookiecutter python-lambda-local slsgen; do
    if [[ ! -x "$VENV/bin/$tool" ]]; then
        echo "bench setup: $VENV/bin/$tool is missing" >&2
        exit 1
    fi
done
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "bench setup: done in %.1f s\n", b - a }' >&2
