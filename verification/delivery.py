"""Sending OTP SMS: jobs of the task queue, run by worker processes, never by the request.

A start that matched someone must take as long as one that did not, or the response time
tells an onlooker whether a number is registered. So every start and resend, matched or not,
enqueues the same job at the same point of the request (`queue_code`), in the transaction
that writes the verification: the job is stored exactly when the verification is, or not at
all. The job carries no code: the worker makes the code (`Verification.issue_code`, keeping
only its hash), commits it, then sends the SMS. With nobody to send to it makes a code just
the same and sends nothing.

A gateway that answers 5xx or 429, or does not answer, is tried again after 1, 2, 4, 8...
seconds with a new code (the unsent one is void), while the code asked for would still be
valid (`Verification.deliver_by`) and at most KYVS_SMS_MAX_ATTEMPTS times. Then, or at once for
any other refusal, the verification fails with reason `sms_not_sent` (the customer's screen
says so) and the citizen's per-mobile allowance is given back.

A worker killed while sending leaves its job running in the queue's table. After
KYVS_SMS_DELIVERY_LEASE_SECONDS any worker takes the job as lost (`recover_lost_jobs`) and
runs it again: the code that may not have gone out is replaced by a new one, or the
verification fails when it is too late. So there is never a live code that was not
delivered, and never two live codes.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.base import TaskResultStatus

from kyvs import limits
from providers.models import Purpose
from verification.models import Beneficiary, Verification
from verification.sms import SmsError, send_sms

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 60


def queue_code(verification: Verification, allowance: list[str]) -> None:
    """Enqueue the job that makes and sends the code `verification` asked for last. Call it
    in the transaction that saved the request (Verification.request_code or
    request_resend). `allowance`: the rate-limit counters (limits.Usage.key) to give back if
    the SMS cannot be sent."""
    deliver_code.enqueue(str(verification.public_id), verification.resends, allowance)


def runs_in_request() -> bool:
    """Whether the task queue runs each job inside the request that enqueues it
    (django_tasks' ImmediateBackend: the test suite and scripts, KYVS_TASK_BACKEND=immediate)
    rather than in a worker (production's database backend)."""
    return isinstance(deliver_code.get_backend(), ImmediateBackend)


# Channels with a screen that waits for the customer, where approving on one's own phone
# (the link in the SMS) can stand in for typing the code.
APPROVE_LINK_CHANNELS = {Verification.Channel.WEB, Verification.Channel.EMBED}


def site_link(path: str) -> str:
    """An absolute link to `path` on this portal (KYVS_SITE_URL), for an SMS."""
    return settings.KYVS_SITE_URL + path


def otp_sms_body(verification: Verification, code: str, approve_token: str = "") -> str:
    """The OTP SMS, in the verification's language: the code, who asks (by its name in SMS,
    providers/sms_names.py: short and approved, never the free text of its full name), why,
    how long the code works, and, where a screen waits, the link to approve on one's own
    phone; for the citizen's own check, that it is for their own check."""
    minutes = max(settings.KYVS_OTP_TTL_SECONDS // 60, 1)
    with translation.override(verification.language):
        if verification.is_own_check:
            return _(
                "%(otp)s is your OTP to see your own vaccination status on KYVS. "
                "Valid %(minutes)d minutes. Do not share it with anyone."
            ) % {"otp": code, "minutes": minutes}
        body = _(
            "%(otp)s is your OTP to share your vaccination status with %(organisation)s "
            "for %(purpose)s. Valid %(minutes)d minutes. Do not share it with anyone else."
        ) % {
            "otp": code,
            "organisation": verification.organisation.sms_name,
            "purpose": Purpose(verification.purpose).label,
            "minutes": minutes,
        }
        if approve_token:
            link = site_link(reverse("approve", args=[verification.public_id, approve_token]))
            body += " " + _("Or approve on your phone: %(link)s") % {"link": link}
        return body


def queue_receipt(verification: Verification) -> None:
    """Enqueue the citizen's receipt SMS of a verification that shared something (call it
    in the transaction that verified it)."""
    deliver_receipt.enqueue(str(verification.public_id))


def receipt_sms_body(verification: Verification) -> str:
    """The citizen's receipt, in the verification's language: who checked (by its name in
    SMS), why, when, what they were shown, and where to report a check they did not agree
    to."""
    with translation.override(verification.language):
        when = timezone.localtime(verification.finished_at).strftime("%d-%m-%Y %H:%M")
        shown = {
            "details": _("your status, vaccinations and details"),
            "vaccinations": _("your status and vaccinations"),
            "status": _("your vaccination status"),
        }[verification.shared_level()]
        return _(
            "KYVS: %(organisation)s saw %(shown)s for %(purpose)s on %(when)s. "
            "Not you? Report it: %(link)s"
        ) % {
            "organisation": verification.organisation.sms_name,
            "shown": shown,
            "purpose": Purpose(verification.purpose).label,
            "when": when,
            "link": site_link(reverse("citizen:my_status")),
        }


def _named(verification_id: str | int) -> dict:
    """The filter for the verification a job names: by its public id (a string), the column
    verifications would be distributed by on Citus (docs/scaling.md), so that the job's
    reads and row lock are one shard's. Jobs queued by an earlier release named it by its
    primary key (an int); those are still found, by that key, until none is left (they live
    as long as the code they send may: KYVS_OTP_TTL_SECONDS)."""
    if isinstance(verification_id, int):
        return {"pk": verification_id}
    return {"public_id": verification_id}


@task()
def deliver_receipt(verification_id: str) -> str:
    """The job: the receipt SMS of one verified verification (named by its public id), once.
    The citizen's mobile is read apart, by the beneficiary's key, never joined to the
    verification. A gateway refusal is logged and not retried: the receipt is a courtesy,
    the verification is done."""
    verification = (
        Verification.objects.select_related("organisation")
        .filter(**_named(verification_id), state=Verification.State.VERIFIED)
        .first()
    )
    if verification is None or not verification.reaches_the_citizen:
        return "moot"
    mobile = Beneficiary.objects.mobile_of(verification.beneficiary_id)
    if not mobile:
        return "moot"
    try:
        send_sms(mobile, receipt_sms_body(verification))
    except SmsError as exc:
        log.warning("receipt SMS not sent for verification %s: %s", verification_id, exc)
        return "not sent"
    return "sent"


@task()
def deliver_code(verification_id: str, resends: int, allowance: list[str]) -> str:
    """The job: make the code that request number `resends` of the verification whose public
    id is `verification_id` asked for (0: the start), store its hash, send it. Returns what
    happened, for the queue's records: "sent", "nobody to send to", "retrying", "not sent"
    or "moot" (the code was no longer wanted).

    The row is locked by its public id, with its organisation; the citizen's mobile is read
    apart (only when the code reaches someone), never joined to it."""
    now = timezone.now()
    with transaction.atomic():
        verification = Verification.objects.locked().filter(**_named(verification_id)).first()
        if verification is None or not verification.awaits_delivery(resends):
            return "moot"
        # Retries and the records below name it by its public id, whatever named it here.
        verification_id = str(verification.public_id)
        if now >= verification.deliver_by:
            verification.fail(Verification.FailureReason.SMS_NOT_SENT, now)
            verification.save()
            gave_up = True
        else:
            gave_up = False
            code = verification.issue_code(now)
            approve_token = ""
            if verification.channel in APPROVE_LINK_CHANNELS:
                approve_token = verification.issue_approve_link()
            verification.save()
            mobile = ""
            if verification.reaches_the_citizen:
                mobile = Beneficiary.objects.mobile_of(verification.beneficiary_id)
            body = otp_sms_body(verification, code, approve_token) if mobile else ""
    if gave_up:
        log.warning("SMS not sent for verification %s: too late", verification_id)
        limits.refund_keys(allowance)
        return "not sent"
    otp_hash = verification.otp_hash
    # The code's hash is committed before the SMS leaves: whatever the gateway does, the
    # database knows the one code that may be live.
    if not mobile:
        Verification.objects.mark_code_sent(verification_id, otp_hash)
        return "nobody to send to"
    try:
        send_sms(mobile, body)
    except SmsError as exc:
        log.warning("SMS not sent for verification %s: %s", verification_id, exc)
        return _after_failure(verification_id, resends, allowance, otp_hash, exc.retryable)
    Verification.objects.mark_code_sent(verification_id, otp_hash)
    return "sent"


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), _MAX_BACKOFF_SECONDS))


def _after_failure(
    verification_id: str, resends: int, allowance: list[str], otp_hash: str, retryable: bool
) -> str:
    now = timezone.now()
    with transaction.atomic():
        verification = Verification.objects.locked().filter(public_id=verification_id).first()
        if verification is None or verification.otp_hash != otp_hash:
            return "moot"  # ended or asked for again meanwhile
        retry_at = now + _backoff(verification.delivery_attempts)
        if (
            retryable
            and verification.delivery_attempts < settings.KYVS_SMS_MAX_ATTEMPTS
            and retry_at < verification.deliver_by
        ):
            verification.void_unsent_code()
            verification.save()
            _enqueue_retry(verification_id, resends, allowance, retry_at)
            return "retrying"
        verification.fail(Verification.FailureReason.SMS_NOT_SENT, now)
        verification.save()
    limits.refund_keys(allowance)
    return "not sent"


def _enqueue_retry(verification_id: str, resends: int, allowance: list[str], retry_at) -> None:
    job = deliver_code
    if job.get_backend().supports_defer:
        job = job.using(run_after=retry_at)
    # A backend that cannot wait (the immediate one of tests and scripts) tries at once;
    # KYVS_SMS_MAX_ATTEMPTS still bounds it.
    job.enqueue(verification_id, resends, allowance)


def recover_lost_jobs(now=None) -> int:
    """Run again every code job that has been running for longer than
    KYVS_SMS_DELIVERY_LEASE_SECONDS: its worker died (a job's SMS is done within the
    gateway's timeout). The job's own checks (Verification.awaits_delivery and the deadline)
    then replace the code that may not have gone out, or fail the verification. Returns how
    many jobs it took over. Called by every worker (verification.worker) at start and
    periodically."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.KYVS_SMS_DELIVERY_LEASE_SECONDS)
    taken = 0
    lost = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING,
        task_path=deliver_code.module_path,
        started_at__lt=cutoff,
    )
    for row in lost:
        with transaction.atomic():
            # Only one worker takes a lost job over: the one whose update changes the row.
            claimed = DBTaskResult.objects.filter(
                pk=row.pk, status=TaskResultStatus.RUNNING
            ).update(status=TaskResultStatus.FAILED, finished_at=now)
            if not claimed:
                continue
            args = row.args_kwargs.get("args", [])
            verification_id, resends, allowance = args
            with transaction.atomic():
                verification = (
                    Verification.objects.locked().filter(**_named(verification_id)).first()
                )
                if verification is not None and verification.awaits_delivery(resends):
                    verification.void_unsent_code()
                    verification.save()
            deliver_code.enqueue(verification_id, resends, allowance)
            taken += 1
            log.warning("took over the lost SMS job of verification %s", verification_id)
    return taken


def start_recovering(interval: float) -> threading.Thread:
    """Run recover_lost_jobs now and every `interval` seconds, in a daemon thread of the
    worker process, so that a worker that died is made good by the ones alive."""

    def loop():
        stop = threading.Event()
        while True:
            try:
                recover_lost_jobs()
            except Exception:
                log.exception("recovering lost SMS jobs failed")
            finally:
                close_old_connections()
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="kyvs-recover-lost-jobs", daemon=True)
    thread.start()
    return thread
