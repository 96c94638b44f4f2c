"""Small factory functions for tests: each makes one valid object, overridable by keyword."""

import itertools
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.models import Membership, Organisation
from verification.models import Beneficiary, Dose, Vaccine, Verification

_seq = itertools.count(1)


def make_organisation(**fields) -> Organisation:
    n = next(_seq)
    defaults = {
        "name": f"Organisation {n}",
        "kind": Organisation.Kind.TRAVEL_AGENCY,
        "state": Organisation.State.APPROVED,
        "scopes": [],
        "purposes": ["travel", "service"],
    }
    defaults.update(fields)
    return Organisation.objects.create(**defaults)


def make_member(organisation: Organisation, username: str | None = None, role="operator"):
    username = username or f"user{next(_seq)}"
    user = get_user_model().objects.create_user(username, password="password-for-tests")
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def give_totp_device(user) -> TOTPDevice:
    """An enrolled authenticator app; `totp_now(device)` is the code it shows."""
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def totp_now(device: TOTPDevice, offset: int = 0) -> str:
    """The code `device` accepts now (offset in 30-second steps)."""
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset)
    return f"{code:0{device.digits}d}"


def make_beneficiary(**fields) -> Beneficiary:
    n = next(_seq)
    defaults = {
        "reference_id": f"{n:014d}",
        "name": f"Person {n}",
        "mobile": "9876543210",
        "birth_year": 1985,
        "gender": Beneficiary.Gender.FEMALE,
    }
    defaults.update(fields)
    return Beneficiary.objects.create(**defaults)


def add_dose(beneficiary: Beneficiary, vaccine: str, number: int, on: date, kind="primary"):
    return Dose.objects.create(
        beneficiary=beneficiary,
        vaccine=Vaccine.objects.get(name=vaccine),
        dose_number=number,
        kind=kind,
        date=on,
        centre="PHC Navrangpura",
        district="Ahmedabad",
        state="Gujarat",
    )


def make_verification(
    organisation: Organisation,
    operator=None,
    *,
    outcome: str = Verification.State.OTP_SENT,
    started: datetime,
    purpose: str = "travel",
) -> Verification:
    """A verification started at `started` that ended there with `outcome` (a
    Verification.State), made through the model's own transitions."""
    verification = Verification(
        organisation=organisation,
        operator=operator,
        channel=Verification.Channel.WEB,
        purpose=purpose,
        scopes=["status"],
        mobile_masked="••••••3210",
        created_at=started,
    )
    verification.request_code(started, "en")
    verification.issue_code(started)
    end = {
        Verification.State.VERIFIED: verification.mark_verified,
        Verification.State.FAILED: lambda now: verification.fail(
            Verification.FailureReason.TOO_MANY_ATTEMPTS, now
        ),
        Verification.State.CANCELLED: verification.cancel,
        Verification.State.DECLINED: verification.decline,
        Verification.State.OTP_SENT: None,
    }[outcome]
    if end is not None:
        end(started)
    verification.save()
    organisation.take_start(started)
    return verification


def start_for(organisation, operator, name="Asha Patel", mobile="9876543210") -> Verification:
    """A verification started through verification/services.py by `operator` of
    `organisation`, for the customer `name` on `mobile`, for travel."""
    from verification import services

    return services.start_verification(
        organisation=organisation,
        operator=operator,
        full_name=name,
        mobile=mobile,
        purpose="travel",
    )
