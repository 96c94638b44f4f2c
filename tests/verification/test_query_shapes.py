"""The shape of the verification flow's queries, as docs/scaling.md ("What would need
reshaping", "Tables on Citus") needs it: every row lock of a verification is by its
public id (the column verifications would be distributed by), and no query joins a
verification to the registry's beneficiaries (distributed by another column); whoever
needs the beneficiary reads it apart.

The SQL is PostgreSQL's as Django sends it; SQLite has no FOR UPDATE, so these tests run on
PostgreSQL only."""

import re
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import otp_from, requires_postgresql
from tests.factories import start_for
from verification import services
from verification.models import Verification

pytestmark = [requires_postgresql, pytest.mark.django_db]

VERIFICATIONS = '"verification_verification"'
BENEFICIARIES = '"verification_beneficiary"'
BY_PUBLIC_ID = '"verification_verification"."public_id" = '
BY_PRIMARY_KEY = '"verification_verification"."id" = '


def approve_link(message) -> str:
    return re.search(r"http://localhost:8000(/c/[A-Za-z0-9_\-/]+)", message.body).group(1)


def _start(organisation, bob, sms_outbox):
    # The SMS job runs inside the start here (the immediate queue): its lock is counted too.
    start_for(organisation, bob)


def _confirm_right(organisation, bob, sms_outbox):
    # With the receipt SMS job, which reads the verification and then the citizen's mobile.
    verification = start_for(organisation, bob)
    assert services.confirm_verification(verification, otp_from(sms_outbox[-1])).ok


def _confirm_wrong(organisation, bob, sms_outbox):
    verification = start_for(organisation, bob)
    assert not services.confirm_verification(verification, "000000").ok


def _resend(organisation, bob, sms_outbox):
    verification = start_for(organisation, bob)
    with time_machine.travel(verification.resend_available_at()):
        services.resend_otp(verification)


def _cancel(organisation, bob, sms_outbox):
    services.cancel_verification(start_for(organisation, bob))


def _decline(organisation, bob, sms_outbox):
    services.decline_verification(start_for(organisation, bob))


def _approve_on_the_phone(organisation, bob, sms_outbox):
    start_for(organisation, bob)
    assert Client().post(approve_link(sms_outbox[-1]), {"answer": "approve"}).status_code == 200


def _decline_on_the_phone(organisation, bob, sms_outbox):
    start_for(organisation, bob)
    assert Client().post(approve_link(sms_outbox[-1]), {"answer": "decline"}).status_code == 200


OPERATIONS: dict[str, Callable] = {
    "start and its SMS job": _start,
    "right code and the receipt job": _confirm_right,
    "wrong code": _confirm_wrong,
    "resend": _resend,
    "cancel": _cancel,
    "decline": _decline,
    "approve on the phone": _approve_on_the_phone,
    "decline on the phone": _decline_on_the_phone,
}


def sql_of(operation, organisation, bob, sms_outbox) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        operation(organisation, bob, sms_outbox)
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("name", OPERATIONS)
def test_every_lock_of_a_verification_is_by_its_public_id_and_joins_no_beneficiary(
    organisation, bob, asha, sms_outbox, name
):
    statements = sql_of(OPERATIONS[name], organisation, bob, sms_outbox)
    locks = [sql for sql in statements if "FOR UPDATE" in sql and VERIFICATIONS in sql]
    assert locks, "the operation locks its verification"
    for sql in locks:
        assert BY_PUBLIC_ID in sql, sql
        assert BY_PRIMARY_KEY not in sql, sql
        assert BENEFICIARIES not in sql, sql


@pytest.mark.parametrize("name", OPERATIONS)
def test_no_query_of_the_flow_joins_a_verification_to_a_beneficiary(
    organisation, bob, asha, sms_outbox, name
):
    statements = sql_of(OPERATIONS[name], organisation, bob, sms_outbox)
    joined = [sql for sql in statements if VERIFICATIONS in sql and BENEFICIARIES in sql]
    assert joined == []


def test_the_sms_job_reads_the_citizens_mobile_apart_by_the_beneficiarys_key(
    organisation, bob, asha, sms_outbox
):
    statements = sql_of(_start, organisation, bob, sms_outbox)
    by_key = f'FROM {BENEFICIARIES} WHERE {BENEFICIARIES}."id" = {asha.pk} '
    [mobile] = [sql for sql in statements if by_key in sql]
    assert mobile.startswith(f'SELECT {BENEFICIARIES}."mobile" ')
    assert sms_outbox[-1].to == asha.mobile


def test_the_approve_link_finds_its_verification_by_public_id_and_the_tokens_digest(
    organisation, bob, asha, sms_outbox
):
    start_for(organisation, bob)
    link = approve_link(sms_outbox[-1])
    by_digest = f'{VERIFICATIONS}."approve_digest" = '
    # The page, then the answer (looked up, then locked).
    for method, lookups in (("get", 1), ("post", 2)):
        with CaptureQueriesContext(connection) as captured:
            getattr(Client(), method)(link, {"answer": "approve"})
        found = [q["sql"] for q in captured.captured_queries if by_digest in q["sql"]]
        assert len(found) == lookups
        for sql in found:
            assert BY_PUBLIC_ID in sql, sql


def test_no_index_is_kept_for_the_approve_links_digest_which_is_looked_up_by_public_id():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Verification._meta.db_table)
    indexed = [details["columns"] for details in constraints.values() if details["index"]]
    assert ["approve_digest"] not in indexed
