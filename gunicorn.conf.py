"""Gunicorn settings for serving KYVS in production:

    .venv/bin/gunicorn -c gunicorn.conf.py kyvs.wsgi

Command-line flags still win over this file (e.g. `--bind 0.0.0.0:8000`).
https://docs.gunicorn.org/en/stable/settings.html lists every setting.

Workers. Sync workers, (2 × cores) + 1 of them: gunicorn's own rule of thumb ("How Many
Workers?", https://docs.gunicorn.org/en/stable/design.html#how-many-workers), for a worker
that spends part of each request waiting on PostgreSQL and Redis while another uses the
core. Cores are the ones this process may run on (os.sched_getaffinity), not all the
machine's. WEB_CONCURRENCY, gunicorn's own variable, sets the number instead. A slow
client is the reverse proxy's to buffer (nginx does by default), not a sync worker's.

Database connections. Each sync worker keeps one connection per database alias it uses
for KYVS_DB_CONN_MAX_AGE seconds: one to the primary and, with DATABASE_REPLICA_URLS, one
to each replica (registry reads pick a replica at random, so a worker ends up holding one
to every replica). SMS and e-mail go out from the task queue's workers (`manage.py
run_worker`), separate processes that hold one connection each. So one app server holds up
to
    workers   on the primary,
    workers   on each replica,
and the sum over all app servers and queue workers (plus migrations, imports, the admin's
shell) must stay
under PostgreSQL's max_connections less superuser_reserved_connections (100 and 3 by
default; `SHOW max_connections;`). Past that, put PgBouncer in front (docs/scaling.md).
`database_connections` computes it; the master logs it at start.

Restarts. Each worker is replaced after max_requests requests, give or take
max_requests_jitter, so that slow leaks cannot grow and workers do not all restart at
once. The application is loaded once, in the master, before the workers are forked
(preload_app): a replaced worker starts serving at once instead of importing Django and
KYVS again. At 1,000 requests a worker was replaced every two seconds under the load
benchmark, and each replacement showed in the 99th percentile (docs/performance.md).
A worker silent for `timeout` seconds is killed and replaced: every request here
is a few database and cache round trips (the SMS goes out from the queue), so 30 s means
something is stuck.

Access log. One line per request on standard output, without query strings, referrer
queries or credentials, and with the secret segments of invitation, password-reset,
receipt, share and embed URLs masked (kyvs/access_log.py).
"""

import os


def cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def worker_count(environ: dict, available_cores: int) -> int:
    """WEB_CONCURRENCY if set (a whole number, at least 1), else (2 × cores) + 1."""
    raw = environ.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return 2 * available_cores + 1
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"WEB_CONCURRENCY must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def database_connections(workers: int, replicas: int) -> dict:
    """Most connections one app server holds: {"primary": n, "each_replica": n}."""
    return {"primary": workers, "each_replica": workers if replicas else 0}


wsgi_app = "kyvs.wsgi:application"
bind = ["127.0.0.1:8000"]
worker_class = "sync"
workers = worker_count(os.environ, cores())
timeout = 30
graceful_timeout = 30
max_requests = 10000
max_requests_jitter = 1000
preload_app = True

accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
logger_class = "kyvs.access_log.MaskingLogger"
errorlog = "-"


def when_ready(server) -> None:
    # The settings, read as the workers will read them (a bad value stops start-up here).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyvs.settings")
    from django.conf import settings

    budget = database_connections(server.cfg.workers, len(settings.KYVS_DATABASE_REPLICAS))
    server.log.info(
        "%d sync workers on %d cores; at most %d PostgreSQL connections to the primary and %d "
        "to each replica from this server",
        server.cfg.workers,
        cores(),
        budget["primary"],
        budget["each_replica"],
    )
