# The two commands a user needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
VENV := .venv
PYTEST_ARGS ?=
# Every package, checked by mypy in strict mode in one run (they import each other).
MYPY_PATHS := $(wildcard common/copr_common python-client/copr cli/copr_cli \
	keygen-client/copr_keygen_client keygen/copr_keygen dist-git/copr_distgit \
	rpmbuild/copr_rpmbuild local/copr_local backend/copr_backend frontend/copr_frontend)

.PHONY: setup test pytest lint format run wheels deploy-check docs bench

setup:
	@tools/setup

# Prerequisites run in order (no -j here): install, lint, then every test.
test: setup lint pytest

# Without PYTEST_ARGS: every test, as three pytest runs side by side (tools/pytest-groups);
# with them (a path, -k ...): one pytest run of just that.
pytest: setup
ifeq ($(strip $(PYTEST_ARGS)),)
	tools/pytest-groups --durations=15
else
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
endif

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(MYPY_PATHS)

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The whole stack in the foreground (Ctrl-C stops it); state in .copr-local/.
# Options of `copr-local up` go in RUN_ARGS, e.g. make run RUN_ARGS="--port 5000".
RUN_ARGS ?=
run: setup
	$(VENV)/bin/copr-local up $(RUN_ARGS)

# The wheels of every service (build/wheels/), which ansible's Debian path installs.
WHEEL_DIRS := common python-client cli keygen-client keygen rpmbuild dist-git backend frontend
wheels: setup
	rm -rf build/wheels
	$(VENV)/bin/pip wheel --quiet --no-deps --wheel-dir build/wheels $(addprefix ./,$(WHEEL_DIRS))

# The ansible play on a fresh Debian 12 root, twice, then ansible-lint (root; slow:
# not part of make test). See ansible/README.md.
deploy-check: setup
	ansible/check

# Every benchmark of bench/ with its defaults, one after another (each prints its ratios
# against its raw baseline; see bench/README.md). Slow, and not part of make test;
# resalloc_throughput.py needs root and resalloc-server.
BENCH := api pending_jobs web_pages e2e concurrent_writes submit_to_start resalloc_throughput
bench: setup
	@set -e; for script in $(BENCH); do echo "== bench/$$script.py"; \
		$(VENV)/bin/python bench/$$script.py; done

# The documentation into build/docs/ (make test builds it too, with -W).
docs: setup
	$(VENV)/bin/sphinx-build -W -q -b html docs build/docs
