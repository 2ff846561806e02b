"""gunicorn's settings for the blog: `gunicorn -c gunicorn.conf.py config.wsgi`.

`kill -HUP <master pid>` reloads gracefully: new workers start, old ones finish their requests.
"""

import os

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]

# Sync workers, one per core: on two cores `make bench` measured one per core ahead of two per
# core, cached pages (4,444 against 3,883 requests/s) and uncached ones (230 against 207) alike;
# a page waits on PostgreSQL or the cache only briefly. At least two, so one slow request never
# holds up everyone. WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, len(os.sched_getaffinity(0))))
worker_class = "sync"

# A request still running after this is stuck: the worker is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM or a reload, workers get this long to finish what they are serving.
graceful_timeout = 30

accesslog = "-"
errorlog = "-"

# The heartbeat file on tmpfs: on a container's overlay disk a slow write can look like a hang.
# gunicorn makes its file there with mkstemp, so the shared directory is safe.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# gunicorn's control socket sits at one path per user, which a second instance on the same host
# (another site, a blue/green deploy) would share and then lose; signals do all we need.
control_socket_disable = True
