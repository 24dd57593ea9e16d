# Two commands set everything up on a fresh machine with only Python, pip and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[viz,test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/aibubble demo
	$(VENV)/bin/aibubble run baseline

# Debian's chromium for the browser tests; playwright never downloads a browser here.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "error: the browser tests need chromium at /usr/bin/chromium; install it with 'sudo apt-get install chromium'" >&2; exit 1; \
	fi

test: $(STAMP) chromium
	$(PY) -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
