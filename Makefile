VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt

.PHONY: demo test lint bench faults clean

# The demo needs trainwell and its runtime dependencies only; the tests add the dev tools.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PIP) -e ".[dev]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/trainwell demo

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# one worker per CPU, each test file on one worker (its module fixtures are built once)
test: lint
	$(VENV)/bin/pytest -q -n auto --dist loadfile

$(VENV)/.bench: $(VENV)/.dev
	$(PIP) -e ".[dev,bench]"
	# torchattacks (MIT), the attack benchmark's second reference: its own requirements would
	# pull another torch build and torchvision, and it needs neither
	$(PIP) --no-deps torchattacks==3.5.1
	touch $@

bench: $(VENV)/.bench
	$(PY) benchmarks/run.py

faults: $(VENV)/.dev
	$(PY) benchmarks/faults --jobs 2

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
