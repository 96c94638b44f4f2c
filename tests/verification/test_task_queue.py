"""OTP SMS and e-mail through the task queue's database backend and its worker
(`manage.py run_worker`): the request only enqueues; the job holds no code or link; retries
back off; a job whose worker died is taken over. The tests of real processes being killed are
in tests/test_faults.py."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kyvs import limits
from providers.emails import deliver_invitation, deliver_password_reset, send_invitation
from tests.conftest import otp_from
from tests.factories import make_beneficiary, make_member, make_organisation
from verification import delivery, services
from verification.models import Verification

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CASES = {
    "match": ("Asha Patel", "9876543210"),
    "no match": ("Asha Patel", "9123453210"),
    "two matches": ("Ravi Shah", "9000003210"),
}


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = DATABASE_QUEUE


@pytest.fixture
def cast():
    organisation = make_organisation(name="Sahyatri Travels")
    bob = make_member(organisation, "bob")
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    make_beneficiary(name="Ravi Shah", mobile="9000003210")
    make_beneficiary(name="Ravi Shah", mobile="9000003210")
    return organisation, bob


def start(cast, name="Asha Patel", mobile="9876543210"):
    organisation, bob = cast
    return services.start_verification(
        organisation=organisation, operator=bob, full_name=name, mobile=mobile, purpose="travel"
    )


def run_worker():
    """Run the jobs that are ready, as a worker process does, and stop."""
    call_command("run_worker", "--batch")


def jobs(task) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=task.module_path).order_by("enqueued_at"))


@pytest.mark.parametrize("case", CASES)
def test_every_start_enqueues_one_job_of_the_same_shape_holding_no_code(cast, sms_outbox, case):
    verification = start(cast, *CASES[case])
    [job] = jobs(delivery.deliver_code)
    public_id, resends, allowance = job.args_kwargs["args"]
    assert (public_id, resends) == (str(verification.public_id), 0)
    assert len(allowance) == 2 and all(key.startswith("limit:otp-mobile") for key in allowance)
    assert verification.otp_hash == ""  # no code exists before the worker makes it
    assert verification.code_delivery == Verification.Delivery.QUEUED
    assert sms_outbox == []


def test_the_worker_makes_and_sends_the_code_only_for_a_match(cast, sms_outbox):
    matched = start(cast)
    unmatched = start(cast, *CASES["no match"])
    run_worker()
    [message] = sms_outbox
    assert message.to == "9876543210"
    for verification in (matched, unmatched):
        verification.refresh_from_db()
        assert verification.otp_hash
        assert verification.code_delivery == Verification.Delivery.SENT
    assert services.confirm_verification(matched, otp_from(message)).ok


def test_a_refused_start_leaves_no_job(cast, sms_outbox):
    organisation, _bob = cast
    organisation.daily_quota = 0
    organisation.save()
    with pytest.raises(services.VerificationRefused):
        start(cast)
    assert jobs(delivery.deliver_code) == []


def test_a_failed_try_is_tried_again_after_a_wait_with_a_new_code(cast, sms_outbox, monkeypatch):
    answers = [delivery.SmsError("gateway answered 503", retryable=True)]
    sent = []

    def gateway(to, body):
        if answers:
            raise answers.pop(0)
        sent.append(body)

    monkeypatch.setattr(delivery, "send_sms", gateway)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        verification = start(cast)
        run_worker()
        verification.refresh_from_db()
        assert (verification.otp_hash, verification.code_delivery) == ("", "queued")
        [first] = [job for job in jobs(delivery.deliver_code) if job.status != "READY"]
        [retry] = [job for job in jobs(delivery.deliver_code) if job.status == "READY"]
        assert (first.status, first.return_value) == (TaskResultStatus.SUCCESSFUL, "retrying")
        assert retry.run_after == now + timedelta(seconds=1)
        run_worker()  # not yet due
        assert sent == []
    with time_machine.travel(now + timedelta(seconds=1), tick=False):
        run_worker()
    assert len(sent) == 1
    verification.refresh_from_db()
    assert verification.code_delivery == Verification.Delivery.SENT


def test_past_the_deadline_the_verification_fails_and_the_allowance_comes_back(
    cast, sms_outbox, monkeypatch
):
    def gateway(to, body):
        raise delivery.SmsError("gateway answered 503", retryable=True)

    monkeypatch.setattr(delivery, "send_sms", gateway)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        verification = start(cast)
        used = limits.peek(limits.OTPS_PER_MOBILE_PER_HOUR, limits.keyed_hash("9876543210"))
        run_worker()
    # The retry is due after the code asked for would have expired.
    with time_machine.travel(now + timedelta(seconds=181), tick=False):
        run_worker()
        left = limits.peek(limits.OTPS_PER_MOBILE_PER_HOUR, limits.keyed_hash("9876543210"))
    verification.refresh_from_db()
    assert verification.state == Verification.State.FAILED
    assert verification.failure_reason == Verification.FailureReason.SMS_NOT_SENT
    assert left.remaining == used.remaining + 1


def test_a_code_job_queued_by_the_earlier_release_naming_the_primary_key_still_sends(
    cast, sms_outbox
):
    verification = start(cast)
    [job] = jobs(delivery.deliver_code)
    # Jobs named the verification by its primary key before they named it by public id.
    _public_id, resends, allowance = job.args_kwargs["args"]
    DBTaskResult.objects.filter(pk=job.pk).update(
        args_kwargs={"args": [verification.pk, resends, allowance], "kwargs": {}}
    )
    run_worker()
    [message] = sms_outbox
    assert services.confirm_verification(verification, otp_from(message)).ok


def test_a_receipt_job_queued_by_the_earlier_release_naming_the_primary_key_still_sends(
    cast, sms_outbox
):
    verification = start(cast)
    run_worker()
    assert services.confirm_verification(verification, otp_from(sms_outbox[0])).ok
    [job] = jobs(delivery.deliver_receipt)
    DBTaskResult.objects.filter(pk=job.pk).update(
        args_kwargs={"args": [verification.pk], "kwargs": {}}
    )
    run_worker()
    _code, receipt = sms_outbox
    assert receipt.to == "9876543210"
    assert "Sahyatri Travels" in receipt.body


def test_a_job_whose_worker_died_is_taken_over_and_its_code_replaced(cast, sms_outbox):
    now = timezone.now()
    verification = start(cast)
    [job] = jobs(delivery.deliver_code)
    # A worker took the job, made the code, and died before the SMS left.
    with time_machine.travel(now, tick=False):
        DBTaskResult.objects.filter(pk=job.pk).update(
            status=TaskResultStatus.RUNNING, started_at=now
        )
        verification = Verification.objects.get(pk=verification.pk)
        lost_code = verification.issue_code(now)
        verification.save()
        assert delivery.recover_lost_jobs() == 0  # within its lease: still being sent
    with time_machine.travel(now + timedelta(seconds=61), tick=False):
        assert delivery.recover_lost_jobs() == 1
        assert delivery.recover_lost_jobs() == 0  # taken over once
        verification.refresh_from_db()
        assert verification.otp_hash == ""  # the code that may not have gone out is void
        run_worker()
    [message] = sms_outbox
    assert otp_from(message) != lost_code
    assert not services.confirm_verification(verification, lost_code).ok
    assert services.confirm_verification(verification, otp_from(message)).ok


def test_an_invitation_job_holds_no_link_and_the_worker_makes_it(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    organisation = make_organisation(name="Sahyatri Travels")
    alice = make_member(organisation, "alice", role="admin")
    membership = organisation.invite("dev@sahyatri.example", "operator", invited_by=alice)
    with translation.override("en"):
        send_invitation(membership, "https://kyvs.example/")
    [job] = jobs(deliver_invitation)
    assert job.args_kwargs["args"] == [membership.pk, "https://kyvs.example/", "en"]
    assert mail.outbox == []
    run_worker()
    [message] = mail.outbox
    assert "https://kyvs.example/accounts/invitation/" in message.body


def test_a_password_reset_enqueues_the_same_job_for_a_known_and_an_unknown_address(
    client, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    organisation = make_organisation(name="Sahyatri Travels")
    alice = make_member(organisation, "alice", role="admin")
    alice.email = "alice@sahyatri.example"
    alice.save()
    for address in ("alice@sahyatri.example", "nobody@sahyatri.example"):
        response = client.post("/accounts/password-reset/", {"email": address})
        assert response.status_code == 302
    known, unknown = jobs(deliver_password_reset)
    assert known.args_kwargs["args"][0] == "alice@sahyatri.example"
    assert unknown.args_kwargs["args"][0] == "nobody@sahyatri.example"
    assert all("token" not in str(job.args_kwargs) for job in (known, unknown))
    run_worker()
    assert [m.to for m in mail.outbox] == [["alice@sahyatri.example"]]
    assert "/accounts/password-reset/" in mail.outbox[0].body


def _statement_shape(sql: str) -> str:
    """A statement with its values taken out: what it does, not to which row."""
    return re.sub(r"\b\d+\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))


def test_a_password_reset_does_the_same_work_for_a_known_and_an_unknown_address(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    organisation = make_organisation(name="Sahyatri Travels")
    alice = make_member(organisation, "alice", role="admin")
    alice.email = "alice@sahyatri.example"
    alice.save()
    work = {}
    for address in ("alice@sahyatri.example", "nobody@sahyatri.example"):
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/accounts/password-reset/", {"email": address})
        assert (response.status_code, response["Location"]) == (
            302,
            "/accounts/password-reset/sent/",
        )
        work[address] = [_statement_shape(query["sql"]) for query in queries.captured_queries]
    # The same statements, one of them the job's row; no message leaves inside the request.
    assert work["alice@sahyatri.example"] == work["nobody@sahyatri.example"]
    assert any(
        "django_tasks_database_dbtaskresult" in sql for sql in work["nobody@sahyatri.example"]
    )
    assert len(jobs(deliver_password_reset)) == 2
    assert mail.outbox == []
