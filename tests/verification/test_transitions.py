"""A verification's state changes only through its own methods, and each knows when it may
change: these pin the rules the workflow relies on."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.factories import make_verification
from verification import otp
from verification.handoff import ResultHandOff, SessionStore
from verification.models import Verification
from verification.services import Result

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("outcome", ["verified", "failed", "cancelled"])
def test_a_verification_that_has_ended_cannot_end_again(organisation, bob, outcome):
    ended = make_verification(organisation, bob, outcome=outcome, started=timezone.now())
    for transition in (ended.mark_verified, ended.cancel):
        with pytest.raises(ValueError):
            transition(timezone.now())
    with pytest.raises(ValueError):
        ended.fail(Verification.FailureReason.TOO_MANY_ATTEMPTS, timezone.now())


def test_ending_voids_the_code(organisation, bob):
    verification = make_verification(organisation, bob, started=timezone.now())
    assert verification.otp_hash
    verification.cancel(timezone.now())
    assert verification.otp_hash == ""


def test_asking_for_a_new_code_voids_the_old_one_until_the_worker_makes_it(organisation, bob):
    now = timezone.now()
    verification = make_verification(organisation, bob, started=now)
    old = verification.otp_hash
    verification.request_resend(now + timedelta(seconds=31), "gu")
    assert verification.otp_hash == ""
    assert (verification.resends, verification.language) == (1, "gu")
    assert verification.awaits_delivery(resends=1)
    assert not verification.awaits_delivery(resends=0)
    code = verification.issue_code(now + timedelta(seconds=32))
    assert verification.otp_hash not in ("", old)
    assert verification.otp_hash == otp.hash_otp(code, str(verification.public_id))


def test_the_last_wrong_code_allowed_fails_the_verification(organisation, bob, settings):
    settings.KYVS_OTP_MAX_ATTEMPTS = 2
    verification = make_verification(organisation, bob, started=timezone.now())
    assert verification.record_wrong_code(timezone.now()) is False
    assert verification.record_wrong_code(timezone.now()) is True
    assert verification.state == Verification.State.FAILED
    assert verification.failure_reason == Verification.FailureReason.TOO_MANY_ATTEMPTS


def _result() -> Result:
    return Result(
        verification_id="5f0c6f2e-0000-4000-8000-000000000001",
        organisation="Sahyatri Travels",
        purpose="travel",
        verified_at=timezone.now().isoformat(),
        vaccination_status=2,
    )


def test_a_result_collected_once_is_gone():
    handoff = ResultHandOff(SessionStore({}), lifetime=60)
    result = _result()
    handoff.hold(result)
    assert handoff.collect(result.verification_id, once=True) == result
    assert handoff.collect(result.verification_id, once=True) is None


def test_a_result_may_be_collected_again_while_it_lives_unless_once():
    handoff = ResultHandOff(SessionStore({}), lifetime=60)
    handoff.hold(_result())
    assert handoff.collect(_result().verification_id, once=False) is not None
    assert handoff.collect(_result().verification_id, once=False) is not None


def test_a_result_older_than_its_lifetime_is_not_given(time_machine_clock):
    handoff = ResultHandOff(SessionStore({}), lifetime=60)
    handoff.hold(_result())
    time_machine_clock.shift(timedelta(seconds=61))
    assert handoff.collect(_result().verification_id, once=False) is None


@pytest.fixture
def time_machine_clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller
