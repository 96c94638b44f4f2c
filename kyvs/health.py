"""`/healthz`: is this app server able to serve? It asks the database, the cache and the
task queue.

For a load balancer or an orchestrator: no sign-in, no session, never cached, and an
answer that names only which dependency failed, not why (the reason goes to the log).
The queue is unhealthy when the oldest job due to run has waited longer than
KYVS_QUEUE_MAX_WAIT_SECONDS: the workers are stopped or too few, and OTPs arrive late.
"""

import logging
import math
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_tasks import task_backends

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("health check: the database did not answer")
        return False


def _cache_ok() -> bool:
    key = "kyvs.healthz." + secrets.token_hex(8)
    try:
        cache.set(key, "ok", timeout=10)
        ok = cache.get(key) == "ok"
        cache.delete(key)
        return ok
    except Exception:
        log.exception("health check: the cache did not answer")
        return False


def queue_backlog() -> tuple[int, int]:
    """(jobs due to run and waiting for a worker, seconds the oldest of them has waited) of
    the database queue; (0, 0) for a queue that runs jobs at once."""
    if not task_backends["default"].supports_get_result:
        return 0, 0
    from django_tasks_db.models import DBTaskResult, get_date_max

    due = DBTaskResult.objects.ready()
    waiting = due.count()
    if not waiting:
        return 0, 0
    # A job waits from when it became due: its enqueuing, or for a retry its run_after.
    never = get_date_max()
    since = [
        due.filter(run_after=never).aggregate(moment=Min("enqueued_at"))["moment"],
        due.exclude(run_after=never).aggregate(moment=Min("run_after"))["moment"],
    ]
    oldest = min(moment for moment in since if moment is not None)
    return waiting, max(math.floor((timezone.now() - oldest).total_seconds()), 0)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if _database_ok() else "failed",
        "cache": "ok" if _cache_ok() else "failed",
    }
    try:
        waiting, oldest = queue_backlog() if checks["database"] == "ok" else (0, 0)
    except Exception:
        log.exception("health check: the task queue could not be read")
        waiting, oldest = 0, 0
        checks["queue"] = "failed"
    else:
        late = oldest > settings.KYVS_QUEUE_MAX_WAIT_SECONDS
        checks["queue"] = "late" if late else "ok"
    healthy = all(value == "ok" for value in checks.values())
    body = {**checks, "queue_waiting": waiting, "queue_oldest_wait_seconds": oldest}
    return JsonResponse(body, status=200 if healthy else 503)
