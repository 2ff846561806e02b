# The blog's image. By default it migrates the database and serves the site with gunicorn on
# port 8000; `python manage.py db_worker` as the command runs the email worker instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
COPY . .
# With the sentry extra, setting SENTRY_DSN is all it takes to report errors.
RUN pip install --no-cache-dir '.[sentry]' && rm -rf build ./*.egg-info

# WhiteNoise serves the hashed, compressed files collected here; collecting needs no real key.
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput

# The code stays root's; the app user may write only to var/, where a generated key is kept.
RUN useradd --system --user-group --no-create-home blog \
    && mkdir -p var \
    && chown blog:blog var
USER blog

EXPOSE 8000
ENTRYPOINT ["/app/config/entrypoint.sh"]
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn -c gunicorn.conf.py config.wsgi"]
