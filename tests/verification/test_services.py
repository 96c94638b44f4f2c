from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from kyvs.mobile import normalise_mobile
from tests.conftest import otp_from
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation
from verification import services
from verification.models import Verification

pytestmark = pytest.mark.django_db


def start(organisation, operator, name="Asha Patel", mobile="9876543210", purpose="travel"):
    return services.start_verification(
        organisation=organisation,
        operator=operator,
        full_name=name,
        mobile=mobile,
        purpose=purpose,
    )


def test_starting_sends_one_sms_naming_the_organisation_purpose_and_validity(
    organisation, bob, asha, sms_outbox
):
    verification = start(organisation, bob)
    assert verification.state == Verification.State.OTP_SENT
    [message] = sms_outbox
    assert message.to == "9876543210"
    assert "Sahyatri Travels" in message.body
    assert "Travel" in message.body
    assert "3 minutes" in message.body


def test_the_row_keeps_a_masked_mobile_and_never_the_code(organisation, bob, asha, sms_outbox):
    verification = start(organisation, bob)
    code = otp_from(sms_outbox[0])
    row = Verification.objects.get(pk=verification.pk)
    assert row.mobile_masked == "••••••3210"
    assert code not in row.otp_hash
    values = " ".join(
        str(v) for v in Verification.objects.filter(pk=row.pk).values().get().values()
    )
    assert "9876543210" not in values
    assert "Asha" not in values


def test_a_name_typed_differently_still_matches(organisation, bob, asha, sms_outbox):
    start(organisation, bob, name="  ASHA   patel. ", mobile=normalise_mobile("+91 98765-43210"))
    assert len(sms_outbox) == 1


@pytest.mark.parametrize("case", ["no match", "two matches"])
def test_an_unmatched_start_looks_like_a_match_but_sends_nothing_and_every_code_fails(
    organisation, bob, sms_outbox, case
):
    if case == "two matches":
        make_beneficiary(name="Asha Patel", mobile="9876543210")
        make_beneficiary(name="asha patel", mobile="9876543210")
    verification = start(organisation, bob)
    assert verification.state == Verification.State.OTP_SENT
    assert verification.mobile_masked == "••••••3210"
    assert verification.otp_hash
    assert sms_outbox == []
    outcome = services.confirm_verification(verification, "123456")
    assert not outcome.ok
    assert outcome.reason == "wrong"


def test_an_unmatched_start_fails_even_the_code_it_made(organisation, bob, sms_outbox):
    """The unsent code is hashed like a real one; guessing it must still fail."""
    verification = start(organisation, bob, name="Nobody Registered")
    code = verification.issue_code(timezone.now())
    verification.save()
    assert not services.confirm_verification(verification, code).ok


def test_the_right_code_verifies_once(organisation, bob, asha, sms_outbox):
    verification = start(organisation, bob)
    code = otp_from(sms_outbox[0])
    first = services.confirm_verification(verification, code)
    assert first.ok
    assert first.result.vaccination_status == 0
    second = services.confirm_verification(verification, code)
    assert not second.ok
    assert second.reason == "already_used"
    row = Verification.objects.get(pk=verification.pk)
    assert row.state == Verification.State.VERIFIED
    assert row.otp_hash == ""


def test_a_wrong_code_says_how_many_tries_are_left(organisation, bob, asha, sms_outbox, settings):
    verification = start(organisation, bob)
    outcome = services.confirm_verification(verification, "000000")
    if otp_from(sms_outbox[0]) == "000000":
        pytest.skip("the random code happened to be 000000")
    assert not outcome.ok
    assert outcome.reason == "wrong"
    assert outcome.attempts_left == settings.KYVS_OTP_MAX_ATTEMPTS - 1


def test_the_last_wrong_code_fails_the_verification_and_the_right_one_no_longer_works(
    organisation, bob, asha, sms_outbox, settings
):
    settings.KYVS_OTP_MAX_ATTEMPTS = 3
    verification = start(organisation, bob)
    code = otp_from(sms_outbox[0])
    wrong = "111111" if code != "111111" else "222222"
    reasons = [services.confirm_verification(verification, wrong).reason for _ in range(3)]
    assert reasons == ["wrong", "wrong", "too_many_attempts"]
    assert services.confirm_verification(verification, code).reason == "failed"
    row = Verification.objects.get(pk=verification.pk)
    assert row.state == Verification.State.FAILED
    assert row.failure_reason == Verification.FailureReason.TOO_MANY_ATTEMPTS


def test_an_expired_code_is_refused_and_a_resend_gives_a_working_one(
    organisation, bob, asha, sms_outbox, settings
):
    verification = start(organisation, bob)
    old = otp_from(sms_outbox[0])
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS)):
        assert services.confirm_verification(verification, old).reason == "expired"
        services.resend_otp(verification)
        new = otp_from(sms_outbox[1])
        assert services.confirm_verification(verification, new).ok


def test_a_code_still_works_just_before_it_expires(organisation, bob, asha, sms_outbox, settings):
    verification = start(organisation, bob)
    code = otp_from(sms_outbox[0])
    just_before = timezone.now() + timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS - 2)
    with time_machine.travel(just_before):
        assert services.confirm_verification(verification, code).ok


def test_a_resend_must_wait_and_voids_the_old_code(organisation, bob, asha, sms_outbox, settings):
    verification = start(organisation, bob)
    old = otp_from(sms_outbox[0])
    with pytest.raises(services.VerificationRefused) as refused:
        services.resend_otp(verification)
    assert refused.value.code == "too_soon"
    later = timezone.now() + timedelta(seconds=settings.KYVS_OTP_RESEND_AFTER_SECONDS)
    with time_machine.travel(later):
        services.resend_otp(verification)
        new = otp_from(sms_outbox[1])
        if new == old:
            pytest.skip("the random codes happened to be equal")
        assert services.confirm_verification(verification, old).reason == "wrong"
        assert services.confirm_verification(verification, new).ok


def test_resends_are_limited(organisation, bob, asha, sms_outbox, settings):
    settings.KYVS_OTP_MAX_RESENDS = 2
    verification = start(organisation, bob)
    now = timezone.now()
    for n in range(1, 3):
        with time_machine.travel(now + timedelta(seconds=31 * n)):
            services.resend_otp(verification)
    with (
        time_machine.travel(now + timedelta(seconds=31 * 3)),
        pytest.raises(services.VerificationRefused) as refused,
    ):
        services.resend_otp(verification)
    assert refused.value.code == "no_resends_left"
    assert len(sms_outbox) == 3


def test_an_unmatched_verification_can_be_resent_without_sending_anything(
    organisation, bob, sms_outbox, settings
):
    verification = start(organisation, bob, name="Nobody")
    later = timezone.now() + timedelta(seconds=settings.KYVS_OTP_RESEND_AFTER_SECONDS)
    with time_machine.travel(later):
        services.resend_otp(verification)
    assert sms_outbox == []


def test_a_cancelled_verification_accepts_no_code(organisation, bob, asha, sms_outbox):
    verification = start(organisation, bob)
    services.cancel_verification(verification)
    outcome = services.confirm_verification(verification, otp_from(sms_outbox[0]))
    assert outcome.reason == "cancelled"


@pytest.mark.parametrize("state", ["pending", "suspended", "rejected"])
def test_an_organisation_that_is_not_approved_cannot_start(sms_outbox, asha, state):
    organisation = make_organisation(state=state)
    operator = make_member(organisation)
    with pytest.raises(services.VerificationRefused) as refused:
        start(organisation, operator)
    assert refused.value.code == "organisation_not_approved"
    assert not Verification.objects.exists()
    assert sms_outbox == []


def test_suspension_stops_a_pending_verification_from_being_confirmed(
    organisation, bob, asha, sms_outbox
):
    verification = start(organisation, bob)
    organisation.state = organisation.State.SUSPENDED
    organisation.save()
    outcome = services.confirm_verification(verification, otp_from(sms_outbox[0]))
    assert not outcome.ok
    assert outcome.reason == "organisation_not_approved"
    assert Verification.objects.get(pk=verification.pk).state == Verification.State.FAILED


def test_an_operator_of_another_organisation_cannot_start_for_it(organisation, charlie, asha):
    with pytest.raises(services.VerificationRefused) as refused:
        start(organisation, charlie)
    assert refused.value.code == "not_a_member"


def test_a_purpose_the_organisation_may_not_state_is_refused(other_organisation, charlie, asha):
    with pytest.raises(services.VerificationRefused) as refused:
        start(other_organisation, charlie, purpose="employment")
    assert refused.value.code == "purpose_not_allowed"


def test_the_daily_quota_stops_starts_beyond_it(organisation, bob, asha, sms_outbox):
    organisation.daily_quota = 2
    organisation.save()
    start(organisation, bob)
    start(organisation, bob)
    with pytest.raises(services.VerificationRefused) as refused:
        start(organisation, bob)
    assert refused.value.code == "quota_exceeded"
    assert Verification.objects.count() == 2


def confirm_fully_vaccinated(organisation, operator, sms_outbox):
    person = make_beneficiary(name="Ravi Shah", mobile="9123456780", birth_year=1979, gender="M")
    add_dose(person, "Covishield", 1, date(2021, 5, 1))
    add_dose(person, "Covishield", 2, date(2021, 8, 1))
    add_dose(person, "Covishield", 1, date(2022, 6, 1), kind="precaution")
    verification = start(organisation, operator, name="Ravi Shah", mobile="9123456780")
    return services.confirm_verification(verification, otp_from(sms_outbox[-1])).result


def test_status_only_organisations_see_only_the_status(sms_outbox):
    organisation = make_organisation(scopes=[])
    result = confirm_fully_vaccinated(organisation, make_member(organisation), sms_outbox)
    assert result.vaccination_status == 2
    assert result.vaccinations is None
    assert result.beneficiary is None


def test_the_vaccinations_scope_adds_the_events_and_nothing_else(sms_outbox):
    organisation = make_organisation(scopes=["vaccinations"])
    result = confirm_fully_vaccinated(organisation, make_member(organisation), sms_outbox)
    assert [(d["vaccine"], d["kind"], d["dose_number"]) for d in result.vaccinations] == [
        ("Covishield", "primary", 1),
        ("Covishield", "primary", 2),
        ("Covishield", "precaution", 1),
    ]
    assert result.beneficiary is None


def test_the_demographics_scope_adds_the_registered_details_and_nothing_else(sms_outbox):
    organisation = make_organisation(scopes=["demographics"])
    result = confirm_fully_vaccinated(organisation, make_member(organisation), sms_outbox)
    assert result.beneficiary == {"name": "Ravi Shah", "birth_year": 1979, "gender": "M"}
    assert result.vaccinations is None


def test_scopes_are_fixed_when_the_verification_starts(sms_outbox):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    operator = make_member(organisation)
    person = make_beneficiary(name="Meera Iyer", mobile="9000000001")
    verification = start(organisation, operator, name="Meera Iyer", mobile="9000000001")
    organisation.scopes = []
    organisation.save()
    result = services.confirm_verification(verification, otp_from(sms_outbox[-1])).result
    assert result.vaccinations == [] and result.beneficiary["name"] == person.name
