PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Uses DJANGO_SECRET_KEY from the environment when set, else a random key kept in .secret_key.
MANAGE = DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" $(BIN)/python manage.py

.PHONY: install run test screenshots bench format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "Installing the blog and its dependencies into $(VENV) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

.secret_key:
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@chmod 600 $@

# Quiet but for what a newcomer needs, last before gunicorn's own lines: where the blog and its
# admin are, and on the first run the admin's password.
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: install .secret_key
	@$(MANAGE) migrate --noinput --verbosity 0
	@$(MANAGE) collectstatic --noinput --verbosity 0
	@$(MANAGE) load_demo --verbosity 0
	@$(MANAGE) resume_sending
	@printf '\n  Blog:       http://$(HOST):$(PORT)/\n'
	@$(MANAGE) create_local_admin --admin-url http://$(HOST):$(PORT)/admin/
	@printf '\n  Ctrl-C stops the blog and its email worker. Without EMAIL_HOST, email is printed here.\n\n'
	@$(MANAGE) db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" HOST=$(HOST) PORT=$(PORT) \
		$(BIN)/gunicorn -c gunicorn.conf.py config.wsgi

# One test process per core (at most 4), each with its own test database. Tests go out in
# collection order, so each process still runs its transactional tests (whose flush empties the
# tables migrations fill) after the others, as pytest-django orders them. (Grouping a module's
# tests with --dist=loadgroup does nothing with pytest 9 and pytest-xdist 3.8.) PYTEST_WORKERS=
# runs the suite in one process.
PYTEST_WORKERS ?= --numprocesses=auto --maxprocesses=4

test: install .secret_key
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" $(BIN)/pytest $(PYTEST_WORKERS)

# A PostgreSQL database of its own: the benchmark replaces every post in it.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/blog_bench
BENCH_ARGS ?=

# The reader and editor pages at 390 and 1280 px, light and dark, into var/screenshots/.
screenshots: install .secret_key
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" $(BIN)/pytest -q -p no:cacheprovider tests/e2e/screenshots.py
	@echo "Screenshots in $${SCREENSHOTS_DIR:-var/screenshots}/"

bench: install .secret_key
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat .secret_key)}" \
		$(BIN)/python -m bench serving $(BENCH_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache .ruff_cache
