import re
import time

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import give_totp_device, make_beneficiary, make_member, make_organisation
from verification import sms

OTP_RE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _clean_cache():
    for alias in ("default", "fragments"):
        caches[alias].clear()
    yield
    for alias in ("default", "fragments"):
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. A request leaves the language it activated
    (the customer's, say) on its thread, as Django does; in production the next request
    activates its own, but a test's code outside a request would inherit it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def mid_hour():
    """The clock set to the middle of the present hour, and running. Rate-limit windows are
    aligned to the epoch (kyvs/limits.py): a test that fills an hour's limit must not cross
    into the next window halfway through, nor be told to wait less than a minute."""
    start = (time.time() // 3600) * 3600 + 1800
    with time_machine.travel(start, tick=True):
        yield


@pytest.fixture
def sms_outbox(settings):
    """The messages sent during the test, newest last."""
    settings.KYVS_SMS_BACKEND = "verification.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def otp_from(message) -> str:
    return OTP_RE.search(message.body).group(1)


def poll_address(client, consent: str) -> str:
    """The address the customer's screen at `consent` polls, as drawn into it (a signed
    token of the verification: verification.views.state_url)."""
    return re.search(r'data-poll-url="([^"]+)"', client.get(consent).content.decode())[1]


class SecondFactorClient(Client):
    """A test client whose force_login also passes the second factor when the user has an
    authenticator app, as a person who typed the code would have. Tests of the second
    factor itself sign in with `client.login(...)`, which does not."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()


@pytest.fixture
def client():
    return SecondFactorClient()


@pytest.fixture
def organisation(db):
    """Alice's organisation: approved, status and vaccinations, travel and service."""
    return make_organisation(name="Sahyatri Travels", scopes=["vaccinations"])


@pytest.fixture
def alice(organisation):
    """The organisation admin, with her authenticator app enrolled."""
    user = make_member(organisation, "alice", role="admin")
    give_totp_device(user)
    return user


@pytest.fixture
def bob(organisation):
    """Alice's operator."""
    return make_member(organisation, "bob", role="operator")


@pytest.fixture
def other_organisation(db):
    return make_organisation(name="Rail Counter Vadodara", kind="railway", purposes=["travel"])


@pytest.fixture
def charlie(other_organisation):
    """An operator of another organisation: the outsider."""
    return make_member(other_organisation, "charlie", role="operator")


@pytest.fixture
def registry_admin(django_user_model):
    user = django_user_model.objects.create_superuser("registry", password="password-for-tests")
    give_totp_device(user)
    return user


@pytest.fixture
def asha(db):
    """A registered citizen with no doses yet."""
    return make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990)


requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL's row locks; set DATABASE_URL to a PostgreSQL database",
)
