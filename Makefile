# make repro: set up .venv and run the pipeline. make test: set up .venv and run the test suite.
# make push / make pull / make status: share outputs and runs through the DVC remote (README: Sharing data and models).
PYTHON ?= python3
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export DVC_NO_ANALYTICS := 1

.PHONY: setup repro push pull status test test-fast bench clean

$(VENV)/.installed: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

repro: setup
	python -m hwdetect.config.params
	dvc repro

push: setup
	python -m hwdetect.push

pull: setup
	python -m hwdetect.pull

status: setup
	python -m hwdetect.status

test: setup
	python -m pytest

test-fast: setup
	python -m pytest -m "not slow"

bench: setup
	python -m bench.speed

clean:
	rm -rf runs .ultralytics
