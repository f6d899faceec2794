# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv (if missing) and install the project into it first.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= build
TEST_WORKERS ?= 2

.PHONY: install run test test-fast test-lab lint clean notebooks handout wheel site

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# constraints.txt: the versions the course is tested with (pyproject.toml keeps the ranges).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	touch $(STAMP)

## install: only create .venv and install the project (for jupyter lab)
install: $(STAMP)

## run: execute every lesson headlessly; executed notebooks and a summary go to build/
run: $(STAMP)
	$(BIN)/lstm-lessons run --out $(OUT)

## test: unit tests, the lessons re-run by nbval (seed 1), each solution through the grader (seed 2),
## and every lesson in JupyterLab in Chromium (seed 3; see test-lab), on $(TEST_WORKERS) pytest-xdist workers;
## then, alone, the tests marked `serial` (they change or watch what the others use). Each part
## ends with its slowest tests; both always run, and the target fails if either failed.
## --dist loadfile keeps a file's tests on one worker: a notebook's cells share one kernel, the
## JupyterLab tests one server. (Not loadgroup: with pytest 9.2 it silently stops grouping,
## pytest-xdist issue #1386.) --no-loadscope-reorder: the files go out in the order of
## tests/conftest.py (the longest first), not xdist's (the most tests first).
test: $(STAMP)
	status=0; \
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p no:cacheprovider \
		-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not serial" \
		--junitxml=$(OUT)/test-results.xml --durations=15 || status=$$?; \
	$(BIN)/python -m pytest tests -p no:cacheprovider -m serial \
		--junitxml=$(OUT)/test-results-serial.xml --durations=5 || status=$$?; \
	exit $$status

## test-lab: every lesson in a real JupyterLab in Chromium, driven by Playwright (screenshots in build/lab/);
## needs Chromium: the system's (Debian/Ubuntu: apt-get install chromium) or `$(BIN)/playwright install chromium`
test-lab: $(STAMP)
	$(BIN)/python -m pytest tests/test_lab.py -p no:cacheprovider --durations=15

## test-fast: only the tests that train nothing (seconds)
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check lstm_lessons tests benchmarks website

clean:
	rm -rf $(OUT) .pytest_cache

## notebooks: re-execute every lesson and store the executed copies in notebooks/ (for commits)
notebooks: $(STAMP)
	$(BIN)/lstm-lessons run --out $(OUT)/executed
	cp $(OUT)/executed/[0-9][0-9]_*.ipynb notebooks/

## site: $(OUT)/site/, the course as a static website (open $(OUT)/site/index.html, or serve the folder
## from any static host): the committed executed notebooks (never re-executed), docs/ with the evidence
## pages, the measured results and the API reference, built by Sphinx with myst-nb (website/build.py).
## Strict: a warning, a broken link or a missing image fails the build.
site: $(STAMP)
	$(BIN)/python website/build.py --out $(OUT)/site --source $(OUT)/site-src

## handout: $(OUT)/lstm-lessons-handout.tar.gz, the committed lessons, package and data for students
## (no solutions/, tests/, .ci/, and of benchmarks/ only the measured results the guides link to);
## the grader runs from it as well
handout:
	mkdir -p $(OUT)
	git archive --format=tar.gz --prefix=lstm-lessons/ -o $(OUT)/lstm-lessons-handout.tar.gz HEAD -- . \
		':(exclude)solutions' ':(exclude)tests' ':(exclude).ci' \
		':(exclude,glob)benchmarks/*' ':(exclude)benchmarks/histories'
	@echo "wrote $(OUT)/lstm-lessons-handout.tar.gz (the last commit; uncommitted changes are not in it)"

## wheel: $(OUT)/dist/lstm_lessons-<version>-py3-none-any.whl, the last commit's package with the lessons and
## the data, for `pip install` anywhere (no solutions/, tests/ or benchmarks/); built from `git archive HEAD`,
## as the hand-out, so no uncommitted or executed-by-hand notebook goes into it.
## `lstm-lessons fetch-lessons DIR` then copies the notebooks out of it.
wheel: $(STAMP)
	rm -rf $(OUT)/wheel-source && mkdir -p $(OUT)/wheel-source
	git archive --format=tar HEAD | tar -x -C $(OUT)/wheel-source
	$(BIN)/python -m build --wheel --no-isolation --outdir $(OUT)/dist $(OUT)/wheel-source
	rm -rf $(OUT)/wheel-source
	@echo "(the last commit; uncommitted changes are not in it)"
