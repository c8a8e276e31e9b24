# Ticketflow: `make demo` runs the product, `make test` runs every check.
# Both work on a fresh machine: they create the virtualenv and build the web assets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ASSETS := web/static/vendor/.built
# Two cores here; database-bound tests overlap well with three workers.
PYTEST_WORKERS ?= 3

.PHONY: demo test lint typecheck pytest assets install clean bench bench-peers translations
CATALOGS := $(wildcard web/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

assets: $(ASSETS) $(COMPILED)

# Compiled catalogs are build output (not committed), like the vendored front-end files.
web/translations/%/LC_MESSAGES/messages.mo: web/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

# Re-extract the UI texts and merge them into every language's catalog.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k lazy_gettext -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching

$(ASSETS): package.json package-lock.json $(wildcard web/assets/*.js web/assets/*.json web/assets/*/*.js web/assets/*/*/*.js)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p web/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js web/static/vendor/htmx.min.js
	mkdir -p web/static/vendor/bpmn-js
	cp node_modules/bpmn-js/dist/bpmn-viewer.production.min.js web/static/vendor/bpmn-js/
	# The ticket page's diagram: the viewer with zoom and pan (mouse wheel, drag, buttons).
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js web/static/vendor/bpmn-js/
	cp node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css web/static/vendor/bpmn-js/
	# Chart.js draws the statistics page's charts (a canvas each; no inline script or style).
	cp node_modules/chart.js/dist/chart.umd.min.js web/static/vendor/chart.umd.min.js
	# The process designer: our web/assets/designer.js (modeler, properties panel, bpmnlint
	# with our rules) bundled by esbuild, and the stylesheets and font it needs.
	node_modules/.bin/esbuild web/assets/designer.js --bundle --minify --format=iife --target=es2020 \
	  --define:process.env.NODE_ENV='"production"' --log-level=warning --outfile=web/static/vendor/designer.bundle.js
	# Automatic layout for files without a diagram (ticket page and designer).
	node_modules/.bin/esbuild web/assets/autolayout.js --bundle --minify --format=iife --target=es2020 \
	  --log-level=warning --outfile=web/static/vendor/autolayout.bundle.js
	mkdir -p web/static/vendor/designer
	cp -r node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css \
	  node_modules/bpmn-js/dist/assets/bpmn-font web/static/vendor/designer/
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css web/static/vendor/designer/
	cp node_modules/bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css web/static/vendor/designer/
	# dmn-js's decision table editor (web/assets/decisions.js): its stylesheets and font.
	cp -r node_modules/dmn-js/dist/assets/dmn-js-shared.css node_modules/dmn-js/dist/assets/dmn-js-decision-table.css \
	  node_modules/dmn-js/dist/assets/dmn-js-decision-table-controls.css node_modules/dmn-js/dist/assets/dmn-font \
	  web/static/vendor/designer/
	touch $@

demo: $(STAMP) $(ASSETS) $(COMPILED)
	$(BIN)/ticketflow run --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(ASSETS) $(COMPILED)
	$(BIN)/pytest -n $(PYTEST_WORKERS)
	TICKETFLOW_TEST_DB=sqlite $(BIN)/pytest -m smoke

test: lint typecheck pytest

# Benchmarks (never part of `make test`): SIZE=small (minutes), medium or full (100k tickets,
# about an hour); reports in var/bench/, figures in docs/performance.md.
SIZE ?= small
bench: $(STAMP)
	$(BIN)/python -m bench.all --size $(SIZE)

# The same mail workload against Request Tracker 5 from Debian (installs it: root, apt).
bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers

clean:
	rm -rf $(VENV) node_modules web/static/vendor var .pytest_cache .mypy_cache .ruff_cache
