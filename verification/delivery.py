"""Sending OTP SMS off the request path.

A start that matched someone must take as long as one that did not, or the response time
tells an onlooker whether a number is registered. So every start and resend, matched or
not, hands exactly one job to `dispatch` and returns; the job sends the SMS when there is
someone to send it to. With KYVS_SMS_QUEUE=thread (the default) the job runs in a small
thread pool of the app server, after the response; with "sync" it runs at once (tests,
scripts). Each app server sends its own jobs, so nothing is shared but the database.

A job that cannot deliver voids its code, marks the verification failed (the operator's
consent page then says the SMS could not be sent) and gives the citizen's per-mobile
allowance back.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connections, transaction

from kyvs import limits
from verification.models import Verification
from verification.sms import SmsError, send_sms

log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None


@dataclass
class OtpJob:
    """One OTP to send. `mobile` is empty when nobody matched: the job then sends nothing.
    The code lives only in this object and in the SMS, never in the database or a queue."""

    verification_pk: int
    otp_hash: str
    mobile: str
    body: str
    allowance: list[limits.Usage] = field(default_factory=list)


def deliver(job: OtpJob) -> bool:
    """Send the job's SMS, or void its code. True if sent (or nothing was to be sent)."""
    if not job.mobile:
        return True
    try:
        send_sms(job.mobile, job.body)
    except SmsError as exc:
        log.warning("SMS not sent for verification #%s: %s", job.verification_pk, exc)
        # Only the code this job carried is voided: a later resend has a code of its own.
        Verification.objects.fail_if_code_unsent(job.verification_pk, job.otp_hash)
        limits.refund(job.allowance)
        return False
    return True


def _run_in_thread(job: OtpJob) -> None:
    close_old_connections()
    try:
        deliver(job)
    except Exception:
        log.exception("sending a code failed for verification #%s", job.verification_pk)
    finally:
        # One SMS per start is rare next to requests: not worth a connection held per thread.
        connections.close_all()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=settings.KYVS_SMS_THREADS, thread_name_prefix="kyvs-sms"
        )
    return _pool


def dispatch(job: OtpJob) -> bool | None:
    """Hand the job over. "sync" runs it now and returns whether it was delivered; "thread"
    queues it once the current transaction commits (so the job sees the row) and returns
    None."""
    if settings.KYVS_SMS_QUEUE == "sync":
        return deliver(job)
    transaction.on_commit(lambda: _executor().submit(_run_in_thread, job))
    return None
