# The two commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

# Tests always run on real PostgreSQL and Redis; these are the standard local addresses.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/chat)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SECRET_KEY=test-only-secret-key-not-for-production-use \
	DEBUG=0 SECURE_SSL_REDIRECT=0 ALLOWED_HOSTS=testserver,localhost,127.0.0.1

.PHONY: run test lint lock migrate bench bench-quick clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# requirements*.txt are locks with a hash for every file (`make lock`): pip refuses anything else.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

# Regenerate the locks from requirements.in and requirements-dev.in after editing either; every package,
# transitive ones included, is pinned with the hashes of all its files, for any platform on Python 3.11
# (the Docker image's). tests/test_lock.py fails while a lock is older than its .in file's pins.
LOCK := $(BIN)/uv pip compile --generate-hashes --universal --python-version 3.11 --quiet
lock: $(VENV)/.installed-dev
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt

migrate: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py collectstatic --noinput -v0

# Embedded by default: SQLite and the in-memory channel layer, DEBUG on. DATABASE_URL/REDIS_URL switch.
# WORKERS=N runs N Daphne processes on one listening socket (chatproject/serve.py); N>1 needs REDIS_URL.
run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python -m chatproject.serve --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		-- --websocket-max-message-size 65536

test: $(VENV)/.installed-dev
	@$(TEST_ENV) $(BIN)/python tools/check_services.py
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=1 $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

# Benchmarks (bench/README.md): Daphne on PostgreSQL + Redis driven over real sockets. Scratch database
# chat_bench and Redis db 5, never the test databases. bench/requirements.txt holds the load generator,
# plot and profiler packages, kept out of requirements-dev.txt so CI does not install them.
BENCH_ENV := BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chat_bench} \
	BENCH_REDIS_URL=$${BENCH_REDIS_URL:-redis://127.0.0.1:6379/5}

$(VENV)/.installed-bench: requirements.txt requirements-dev.txt bench/requirements.txt | $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -r bench/requirements.txt
	@touch $@

bench: $(VENV)/.installed-dev $(VENV)/.installed-bench
	$(BENCH_ENV) $(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(VENV)/.installed-dev $(VENV)/.installed-bench
	$(BENCH_ENV) $(BIN)/python -m bench.run --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
