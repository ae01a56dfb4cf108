# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create the virtual environment they need in .venv.

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# The main job: a class-conditional Real NVP on the bundled real MNIST digits.
DEMO_FLAGS := --dataset mnist_bundled --conditional --epochs 16 --batch-size 64 \
	--num-scales 3 --num-coupling-layers 3 --num-res-blocks 2 --filters 32 \
	--output-dir runs/demo --export-dir saved_models --verbose 2

.PHONY: demo test clean

$(INSTALLED): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/tfp-realnvp train $(DEMO_FLAGS)

test: $(INSTALLED)
	$(VENV_PYTHON) -m pytest -q tests

clean:
	rm -rf $(VENV) runs
