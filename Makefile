# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create the virtual environment they need in .venv (as does `make docs`).

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# The main job: a class-conditional Real NVP on the bundled real MNIST digits
# (the mnist_bundled preset: 3 scales, 2 residual blocks of 32 maps, variational
# dequantization, batch 16, cosine schedule, 10 epochs).
# --overwrite: each `make demo` trains runs/demo afresh (a run directory
# otherwise refuses to replace a finished run).
DEMO_FLAGS := --preset mnist_bundled --output-dir runs/demo --overwrite \
	--export-dir saved_models --verbose 2

DOCS_BUILD := docs/_build

.PHONY: demo test docs bench clean

$(INSTALLED): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -e ".[test,docs]"
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/tfp-realnvp train $(DEMO_FLAGS)

# Two worker processes (pytest-xdist), one test file each at a time: much of
# a test's time is single-threaded tracing, so two cores finish sooner.
test: $(INSTALLED)
	$(VENV_PYTHON) -m pytest -q -n 2 --dist loadfile tests

# Reference documentation from the docstrings (Sphinx, docs/reference):
# HTML in docs/_build/html/index.html. Any warning fails the build.
docs: $(INSTALLED)
	$(VENV_PYTHON) -m sphinx -W --keep-going -b html \
		-d $(DOCS_BUILD)/doctrees docs/reference $(DOCS_BUILD)/html

# Training step vs its floor and vs tfb.Glow, serving throughput, peak memory:
# writes benchmarks/results.json and benchmarks/results.md.
bench: $(INSTALLED)
	$(VENV_PYTHON) benchmarks/run.py

clean:
	rm -rf $(VENV) runs $(DOCS_BUILD) docs/reference/api
