"""Query budgets: how many database queries each page of the flow, each API call and the
registry admin's longest lists make, whatever the number of doses, verifications, team
members, API keys, share cards, registry decisions and reports from citizens.

Each test runs twice, with few rows (1 of each) and with many (30 doses, 30 team members, 50
past verifications over operators, API keys, channels and two organisations, 13 of them
reported, 30 API keys, 30 share cards, 30 decisions by as many registry admins), and holds
one request to the same budget both times: a query per row (an N+1) fails the "many rows"
run. The budgets are the counts measured, so a new query on a hot path fails too; a change
that saves one should lower its budget here.

Counted on the default database, the same on PostgreSQL and SQLite. A test counts each
atomic block's SAVEPOINT and RELEASE as two queries (in production they are its BEGIN and
COMMIT). Jobs are queued as in production (rows of the database queue: the SMS is a worker's
work, not the request's), and an API key's "last used" time is fresh (written at most once a
minute, providers.access.LAST_USED_EVERY, so not on the hot path).

What every request of a kind costs:

- operator, signed in: session; the account with its membership, organisation and whether
  it has a second factor enrolled (one query, providers/auth.py): 2. The session is written
  back (savepoint, UPDATE, release) only when the idle timeout is moved on, at most once a
  minute (providers.middleware.OperatorIdleMiddleware), or when the page changes what it
  holds (a start's language, a confirm's result, a result picked up).
- organisation admin, past the second factor: session; the account as above; the device
  the session passed with: 3 (no idle timeout, so no write).
- API call: the key with its organisation (one join), and today's starts (one row) for the daily
  quota's rate-limit headers: 2.
- citizen signed in to My status: session; beneficiary; and the session written back for
  the idle timeout (savepoint, UPDATE, release): 2 + 3.

Each budget below says what it is made of, on top of its kind's.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone

from providers.models import ApiKey, Organisation, OrganisationDecision
from tests.conftest import SecondFactorClient, otp_from, poll_address
from tests.embed.helpers import ORIGIN, create_session, in_frame, path_of, register
from tests.embed.helpers import session_status as embed_session_status
from tests.factories import (
    add_dose,
    give_totp_device,
    make_member,
    make_organisation,
    make_verification,
)
from tests.verification.api_client import ApiClient, sha256
from verification import receipts
from verification.models import CitizenReport, CitizenRestriction, StatusShare, Verification

pytestmark = pytest.mark.django_db

# The hosted page (verification/views.py), for a signed-in operator (2).
# The operator's five recent verifications.
OPERATORS_FORM = 3
# The match (name and mobile) and the citizen's lock or block, before the transaction (no
# lock needed: a replica can answer the match); savepoint; the organisation read again;
# today's starts counted and read back in one statement, which locks the day's row
# (Organisation.take_start); the verification inserted; the SMS job inserted; release (8;
# the verification is read back only where the queue runs its jobs in the request,
# verification.delivery.runs_in_request). The session is not written: the operator's
# language waits in a cookie.
START = 10
# The verification with its organisation.
CUSTOMERS_SCREEN = 3
# The verification's state, by the public id its token names: no session, no account.
SCREEN_POLL = 1
# The verification; savepoint; the row locked by its public id, with its organisation (not
# the beneficiary: docs/scaling.md, "Joins"); its UPDATE; the receipt SMS job inserted;
# release; then, after the commit (where a replica can answer), the doses with their
# vaccines by the beneficiary's key (read once, for the status and the list; the
# beneficiary's own row is read only for the demographics scope, not granted here) (7); the
# session written, holding the result for one pickup (3).
CONFIRM = 12
# The verification with its organisation; the session written, the result taken out of it.
RESULT = 6

# Onboarding, for anyone: no session, no lookup.
APPLY_FORM = 0

# The organisation console, for its admin (3).
# The 30-day chart (one GROUP BY); today's count; the members with their users; the last
# five decisions.
CONSOLE = 7
# The operators for the filter; the count for the pages; one page of rows with their
# operators and API keys.
HISTORY = 6
# The operators for the filter; every row with its operator and API key, in one query.
HISTORY_CSV = 5
# The keys with who made them; today's count per key (one GROUP BY); the live keys.
API_KEYS = 6

# The API (verification/api.py), 2 a call.
# A start's nine (as START, from the match to the release).
API_GENERATE_OTP = 11
# The verification by its txnId; a confirm's six (as CONFIRM, from its savepoint).
API_CONFIRM_OTP = 9
# Nothing more: the result waits in the cache.
API_STATUS = 2

# The embeddable page (verification/embed.py). An operator's frame: as the hosted page, with
# the frame's organisation looked up by the public id in its address.
EMBED_FORM = 3
EMBED_START = 12
EMBED_CUSTOMERS_SCREEN = 4
EMBED_CONFIRM = 13
EMBED_RESULT = 7
# An embed session's frame, made and read by the organisation's back end with its API key.
# The key; savepoint; today's count for the quota; the session inserted; release; today's
# count for the rate-limit headers.
EMBED_SESSION_CREATE = 6
# The session by its token; marked opened; the frame's own session made (select, savepoint,
# insert, release).
EMBED_SESSION_OPEN = 6
# The frame's session; the embed session with its organisation, key and verification.
EMBED_SESSION_FORM = 2
# Those two; savepoint; the embed session locked; its key; a start's ten (the organisation
# read once more among them); the embed session's verification saved; release.
EMBED_SESSION_START = 17
# Those two; the verification's organisation.
EMBED_SESSION_CUSTOMERS_SCREEN = 3
# Those two; a confirm's six; the frame's session written (savepoint, UPDATE, release).
EMBED_SESSION_CONFIRM = 11
# Those two; the frame's session written (the result leaves it).
EMBED_SESSION_RESULT = 5
# The key; the session with its verification; today's count for the rate-limit headers.
EMBED_SESSION_STATUS = 3

# My status (verification/citizen.py).
# Nothing: no session yet.
MY_STATUS_FORM = 0
# The match; savepoint; the verification and the SMS job inserted; release; the
# browser's session made (select, savepoint, insert, release).
MY_STATUS_START = 9
# The session; the check waiting for its code.
MY_STATUS_CODE_SCREEN = 2
# The session; the check; a confirm's five (no receipt for one's own check); the session
# renewed: a new one made (4), the old one read and deleted (2), the new one written (3).
MY_STATUS_CODE = 16
# Signed in (2 + 3): the doses with their vaccines (once, for the status and the list); the
# live share cards.
MY_STATUS = 7
# Signed in (2 + 3): the count for the pages; the blocked organisations; the reported
# checks; one page of checks with their organisations; the lock.
MY_HISTORY = 10

# Receipts (verification/public_views.py), for anyone.
# Nothing: the signature is checked with the keys read from files.
RECEIPT_CHECKER = 0
RECEIPT_CHECKED = 0
# The verified verification with its organisation.
RECEIPT_LINK = 1
RECEIPT_LINK_CHECKED = 1

# The registry admin (Django's admin: providers/admin.py, verification/admin.py), for a
# registry admin past the second factor: session; the account (with no membership); the
# device; and on each list its two counts (as filtered, and in all) and the applications
# waiting, in the side menu: 3 + 3.
# One page of decisions with their organisations and who decided.
ADMIN_DECISIONS = 7
# One page of reports with their organisations and verifications, and each organisation's
# reports of the last 30 days counted in the same query.
ADMIN_REPORTS = 7
# The audit trail: the organisations for its filter; one page of verifications with their
# organisations and operators; the first and last day, and the days, of its date hierarchy.
ADMIN_VERIFICATIONS = 10

NAME = "Asha Patel"
MOBILE = "9876543210"
NOBODY = "Nobody Registered"
PRODUCTION_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
OTHER_VACCINES = ["Covaxin", "Corbevax", "Covovax", "Sputnik V"]


@dataclass(frozen=True)
class Rows:
    doses: int
    members: int
    verifications: int
    api_keys: int
    shares: int
    decisions: int


FEW = Rows(doses=1, members=1, verifications=1, api_keys=1, shares=1, decisions=1)
MANY = Rows(doses=30, members=30, verifications=50, api_keys=30, shares=30, decisions=30)


@dataclass
class World:
    rows: Rows
    # What the pages should list, so that a test knows the rows were there to be read.
    team: int
    bobs_checks: int
    organisations_checks: int
    citizens_checks: int


@pytest.fixture(params=[FEW, MANY], ids=["few rows", "many rows"])
def world(request, organisation, other_organisation, alice, bob, charlie, asha) -> World:
    """Asha's doses, Alice's team and API keys, past checks of Asha by both organisations
    (some reported, one organisation blocked), Asha's share cards, and the registry's
    decisions about other organisations, each by another registry admin: `request.param` of
    each."""
    rows: Rows = request.param
    add_dose(asha, "Covishield", 1, date(2021, 5, 1))
    for number in range(1, rows.doses):
        vaccine = OTHER_VACCINES[number % len(OTHER_VACCINES)]
        add_dose(asha, vaccine, number, date(2022, 1, 1) + timedelta(days=number), "precaution")

    team = [bob]
    for n in range(rows.members):
        member = make_member(
            organisation, f"member{n:02d}", role="admin" if n % 5 == 0 else "operator"
        )
        if n % 3 == 1:
            give_totp_device(member)
        if n % 7 == 6:
            member.membership.deactivate()
        team.append(member)

    keys = [
        ApiKey.issue(organisation, f"System {n}", created_by=team[n % len(team)])[0]
        for n in range(rows.api_keys)
    ]

    started = timezone.now() - timedelta(days=1)
    outcomes = [state for state, _label in Verification.State.choices]
    ours = bobs = 0
    for n in range(rows.verifications):
        outcome = outcomes[n % len(outcomes)]
        if n % 5 == 4:
            check = make_verification(
                other_organisation, charlie, outcome=outcome, started=started
            )
        elif n % 3 == 2:
            check = make_verification(organisation, outcome=outcome, started=started)
            check.channel, check.api_key = Verification.Channel.API, keys[n % len(keys)]
        else:
            check = make_verification(
                organisation, team[n % len(team)], outcome=outcome, started=started
            )
        ours += check.organisation_id == organisation.pk
        bobs += check.operator_id == bob.pk
        check.beneficiary = asha
        check.save()
        if n % 4 == 0:
            CitizenReport.objects.create(verification=check, organisation=check.organisation)
    CitizenRestriction.objects.create(beneficiary=asha, organisation=other_organisation)

    for n in range(rows.shares):
        StatusShare.issue(asha, language=["en", "gu", "hi"][n % 3])

    for n in range(rows.decisions):
        staff = get_user_model().objects.create_user(f"registry{n:02d}", is_staff=True)
        OrganisationDecision.objects.create(
            organisation=make_organisation(state=Organisation.State.REJECTED),
            action=OrganisationDecision.Action.REJECT,
            from_state=Organisation.State.PENDING,
            to_state=Organisation.State.REJECTED,
            decided_by=staff,
            reason="The registration number does not match the name.",
        )

    return World(
        rows=rows,
        team=len(team) + 1,  # and Alice
        bobs_checks=bobs,
        organisations_checks=ours,
        citizens_checks=rows.verifications,
    )


@pytest.fixture
def within(django_assert_max_num_queries):
    """`with within(BUDGET):` fails if the block makes more than BUDGET queries. Jobs
    enqueued in the block are stored as production stores them, not run there."""

    @contextmanager
    def budget(queries: int):
        with override_settings(TASKS=PRODUCTION_QUEUE), django_assert_max_num_queries(queries):
            yield

    return budget


@pytest.fixture
def counter(bob) -> Client:
    """Bob's browser at the front desk, signed in, with a page opened since: his session's
    idle timeout was moved on then, and is not again within the minute
    (providers.middleware.OperatorIdleMiddleware), as for most of an operator's requests."""
    browser = SecondFactorClient()
    browser.force_login(bob)
    browser.get("/verify/")
    return browser


@pytest.fixture
def console(alice) -> Client:
    """Alice's browser, signed in past her second factor."""
    browser = SecondFactorClient()
    browser.force_login(alice)
    return browser


@pytest.fixture
def api(organisation) -> ApiClient:
    """Alice's organisation's booking system, whose key was used a moment ago."""
    key, raw_key = ApiKey.issue(organisation, "Booking system")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return ApiClient(raw_key)


def person_form(name=NAME, mobile=MOBILE, **more) -> dict:
    return {"full_name": name, "mobile_number": mobile, **more}


def rows_of(page, marker: str) -> int:
    return page.content.decode().count(marker)


# --- the hosted page ---------------------------------------------------------------------------


def started(counter: Client) -> str:
    """The customer's screen of a start for Asha (her SMS sent)."""
    response = counter.post("/verify/", person_form(purpose="travel"))
    assert response.status_code == 302, response.content.decode()
    return response["Location"]


def confirmed(counter: Client, sms_outbox) -> str:
    """The result page of Asha's verification, not yet shown."""
    screen = started(counter)
    response = counter.post(screen, {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302
    return response["Location"]


def test_the_operators_form_keeps_to_its_budget(world, counter, within):
    with within(OPERATORS_FORM):
        page = counter.get("/verify/")
    assert page.status_code == 200
    assert rows_of(page, 'class="recent__meta"') == min(world.bobs_checks, 5)


@pytest.mark.parametrize("name", [NAME, NOBODY], ids=["a match", "nobody matched"])
def test_a_start_keeps_to_its_budget(world, counter, within, name):
    counter.get("/verify/")
    with within(START):
        response = counter.post("/verify/", person_form(name, purpose="travel"))
    assert response.status_code == 302


def test_the_customers_screen_and_its_poll_keep_to_their_budgets(world, counter, within):
    screen = started(counter)
    with within(CUSTOMERS_SCREEN):
        assert counter.get(screen).status_code == 200
    poll = poll_address(counter, screen)
    with within(SCREEN_POLL):
        assert counter.get(poll).json()["waiting"] is True


def test_a_confirm_with_the_right_otp_keeps_to_its_budget(world, counter, within, sms_outbox):
    screen = started(counter)
    with within(CONFIRM):
        response = counter.post(screen, {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302 and response["Location"].endswith("/result/")


def test_the_result_keeps_to_its_budget(world, counter, within, sms_outbox):
    result = confirmed(counter, sms_outbox)
    with within(RESULT):
        page = counter.get(result)
    assert page.status_code == 200
    assert rows_of(page, 'data-label="Vaccine"') == world.rows.doses


# --- onboarding and the console -----------------------------------------------------------------


def test_the_apply_form_keeps_to_its_budget(world, client, within):
    with within(APPLY_FORM):
        assert client.get("/providers/apply/").status_code == 200


def test_the_consoles_team_list_keeps_to_its_budget(world, console, within):
    with within(CONSOLE):
        page = console.get("/console/")
    assert page.status_code == 200
    assert rows_of(page, 'class="table__key"') == world.team


def test_the_verification_history_keeps_to_its_budget(world, console, within):
    with within(HISTORY):
        page = console.get("/console/history/")
    assert page.status_code == 200
    assert rows_of(page, 'class="state state--') == world.organisations_checks


def test_the_history_as_csv_keeps_to_its_budget(world, console, within):
    with within(HISTORY_CSV):
        response = console.get("/console/history.csv")
    assert response.status_code == 200
    assert response.content.decode().count("\n") == world.organisations_checks + 1


def test_the_api_keys_page_keeps_to_its_budget(world, console, within):
    with within(API_KEYS):
        page = console.get("/console/api-keys/")
    assert page.status_code == 200
    assert rows_of(page, '<span class="mono">kyvs_') == world.rows.api_keys


# --- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [NAME, NOBODY], ids=["a match", "nobody matched"])
def test_generate_otp_keeps_to_its_budget(world, api, within, name):
    with within(API_GENERATE_OTP):
        response = api.generate(name, MOBILE)
    assert response.status_code == 200


def test_confirm_otp_keeps_to_its_budget(world, api, within, sms_outbox):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    with within(API_CONFIRM_OTP):
        response = api.confirm(txn_id, sha256(otp_from(sms_outbox[-1])))
    assert response.status_code == 200


def test_status_keeps_to_its_budget(world, api, within, sms_outbox):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    token = api.confirm(txn_id, sha256(otp_from(sms_outbox[-1]))).json()["token"]
    with within(API_STATUS):
        response = api.status(token)
    assert response.status_code == 200
    assert len(response.json()["vaccinations"]) == world.rows.doses


# --- the embeddable page -----------------------------------------------------------------------


@pytest.fixture
def frame(organisation, counter) -> Client:
    """Bob's browser, signed in inside the frame on his organisation's booking site."""
    register(organisation, ORIGIN)
    return in_frame(counter)


def test_the_operators_frame_keeps_to_its_budgets(world, organisation, frame, within, sms_outbox):
    form = f"/embed/{organisation.public_id}/"
    with within(EMBED_FORM):
        assert frame.get(form).status_code == 200
    with within(EMBED_START):
        assert frame.post(form, person_form(purpose="travel")).status_code == 302
    # The start above only queued its SMS; this one sends it.
    screen = frame.post(form, person_form(purpose="travel"))["Location"]
    with within(EMBED_CUSTOMERS_SCREEN):
        assert frame.get(screen).status_code == 200
    with within(EMBED_CONFIRM):
        response = frame.post(screen, {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302
    with within(EMBED_RESULT):
        page = frame.get(response["Location"])
    assert page.status_code == 200
    assert rows_of(page, 'data-label="Vaccine"') == world.rows.doses


@pytest.fixture
def session_key(organisation) -> str:
    """The raw API key of Alice's organisation's booking system, with its origin registered
    for embed sessions and the key used a moment ago."""
    register(organisation, ORIGIN)
    key, raw_key = ApiKey.issue(organisation, "Booking system")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return raw_key


def opened_session(session_key: str) -> tuple[Client, str, str]:
    """A frame that opened a new embed session's URL: (the frame, the session id, its
    form's address)."""
    body = create_session(session_key).json()
    frame = Client()
    form = frame.get(path_of(body["url"]))["Location"]
    return frame, body["session_id"], form


def test_an_embed_session_keeps_to_its_budgets(world, session_key, within, sms_outbox):
    with within(EMBED_SESSION_CREATE):
        body = create_session(session_key).json()
    frame = Client()
    with within(EMBED_SESSION_OPEN):
        form = frame.get(path_of(body["url"]))["Location"]
    with within(EMBED_SESSION_FORM):
        assert frame.get(form).status_code == 200
    with within(EMBED_SESSION_START):
        assert frame.post(form, person_form()).status_code == 302

    # The start above only queued its SMS; this session's start sends it.
    frame, session_id, form = opened_session(session_key)
    screen = frame.post(form, person_form())["Location"]
    with within(EMBED_SESSION_CUSTOMERS_SCREEN):
        assert frame.get(screen).status_code == 200
    with within(EMBED_SESSION_CONFIRM):
        response = frame.post(screen, {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302
    with within(EMBED_SESSION_RESULT):
        assert frame.get(response["Location"]).status_code == 200
    with within(EMBED_SESSION_STATUS):
        answer = embed_session_status(session_key, session_id)
    assert answer.json()["outcome"] == "verified"


# --- My status ---------------------------------------------------------------------------------


def signed_in_to_my_status(client: Client, sms_outbox) -> None:
    assert client.post("/my-status/", person_form()).status_code == 302
    response = client.post("/my-status/code/", {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302 and response["Location"] == "/my-status/"


def test_my_status_form_and_start_keep_to_their_budgets(world, client, within):
    with within(MY_STATUS_FORM):
        assert client.get("/my-status/").status_code == 200
    with within(MY_STATUS_START):
        assert client.post("/my-status/", person_form()).status_code == 302


def test_my_status_code_screen_and_right_code_keep_to_their_budgets(
    world, client, within, sms_outbox
):
    assert client.post("/my-status/", person_form()).status_code == 302
    with within(MY_STATUS_CODE_SCREEN):
        assert client.get("/my-status/code/").status_code == 200
    with within(MY_STATUS_CODE):
        response = client.post("/my-status/code/", {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302


def test_my_status_signed_in_keeps_to_its_budget(world, client, within, sms_outbox):
    signed_in_to_my_status(client, sms_outbox)
    with within(MY_STATUS):
        page = client.get("/my-status/")
    assert page.status_code == 200
    assert rows_of(page, 'data-label="Vaccine"') == world.rows.doses
    assert rows_of(page, 'class="shares__item"') == world.rows.shares


def test_who_checked_me_keeps_to_its_budget(world, client, within, sms_outbox):
    signed_in_to_my_status(client, sms_outbox)
    with within(MY_HISTORY):
        page = client.get("/my-status/history/")
    assert page.status_code == 200
    assert rows_of(page, 'class="checks__who"') == min(world.citizens_checks, 20)


# --- receipts ----------------------------------------------------------------------------------


def test_the_receipt_pages_keep_to_their_budgets(world, api, client, within, sms_outbox):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    token = api.confirm(txn_id, sha256(otp_from(sms_outbox[-1]))).json()["token"]
    receipt = api.status(token).json()["receipt"]
    link = f"/receipts/{txn_id}/?c={receipts.link_check(txn_id)}"

    with within(RECEIPT_CHECKER):
        assert client.get("/receipts/verify/").status_code == 200
    with within(RECEIPT_CHECKED):
        page = client.post("/receipts/verify/", {"receipt": receipt})
    assert "Valid: this receipt was signed by KYVS" in page.content.decode()
    with within(RECEIPT_LINK):
        assert client.get(link).status_code == 200
    with within(RECEIPT_LINK_CHECKED):
        page = client.post(link, {"receipt": receipt})
    assert "Valid: this receipt was signed by KYVS" in page.content.decode()


# --- the registry admin ------------------------------------------------------------------------


def test_the_registry_admins_list_of_decisions_keeps_to_its_budget(
    world, client, registry_admin, within
):
    client.force_login(registry_admin)
    with within(ADMIN_DECISIONS):
        page = client.get("/admin/providers/organisationdecision/")
    assert page.status_code == 200
    assert rows_of(page, '<td class="field-decided_by') == world.rows.decisions


def test_the_registry_admins_queue_of_reports_keeps_to_its_budget(
    world, client, registry_admin, within
):
    client.force_login(registry_admin)
    with within(ADMIN_REPORTS):
        page = client.get("/admin/verification/citizenreport/")
    assert page.status_code == 200
    reports = (world.rows.verifications + 3) // 4
    assert rows_of(page, '<td class="field-reports_in_30_days') == reports


def test_the_registry_admins_audit_trail_keeps_to_its_budget(
    world, client, registry_admin, within
):
    client.force_login(registry_admin)
    with within(ADMIN_VERIFICATIONS):
        page = client.get("/admin/verification/verification/")
    assert page.status_code == 200
    assert rows_of(page, '<td class="field-operator') == world.rows.verifications
