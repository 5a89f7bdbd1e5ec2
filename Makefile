VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt

.PHONY: demo test lint bench faults clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -e ".[dev]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/trainwell demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/pytest -q

$(VENV)/.bench: $(VENV)/.installed
	$(PIP) -e ".[dev,bench]"
	# torchattacks (MIT), the attack benchmark's second reference: its own requirements would
	# pull another torch build and torchvision, and it needs neither
	$(PIP) --no-deps torchattacks==3.5.1
	touch $@

bench: $(VENV)/.bench
	$(PY) benchmarks/run.py

faults: $(VENV)/.installed
	$(PY) benchmarks/faults

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
