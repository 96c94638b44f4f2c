"""Run by tests/test_replica.py in a process of its own, whose DATABASE_REPLICA_URLS names
a real streaming replica (outside the test-database machinery, which would mirror the
primary): looks a citizen up through the router and prints, as one JSON object, what each
lookup found, through which alias, and whether that server is a replica.

    python -m tests.replica_probe "Asha Patel" 9876543210
    python -m tests.replica_probe "Asha Patel" 9876543210 --start <organisation pk> <user pk>

The second starts a verification (verification.services.start_verification) for that
organisation by that operator, and prints whom it matched and on which database each of
the start's registry queries ran.
"""

import json
import os
import sys

import django


def lookup(queryset) -> dict:
    from django.db import connections

    alias = queryset.db
    found = [row.pk for row in queryset]
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('port')::int")
        in_recovery, port = cursor.fetchone()
    return {"alias": alias, "found": found, "in_recovery": in_recovery, "port": port}


def main(name: str, mobile: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyvs.test_settings")
    django.setup()
    from django.db import transaction

    from verification.models import Beneficiary, Verification

    outside = lookup(Beneficiary.objects.matching(name, mobile))
    doses = []
    for person in Beneficiary.objects.matching(name, mobile):
        doses.append(lookup(person.doses.all()))
    with transaction.atomic():
        inside = lookup(Beneficiary.objects.matching(name, mobile))
    return {
        "outside": outside,
        "doses": doses,
        "inside_transaction": inside,
        "verifications": Verification.objects.all().db,
    }


def start(name: str, mobile: str, organisation_pk: str, operator_pk: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyvs.test_settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from providers.models import Organisation
    from verification import services

    registry_reads = []

    def recorder(alias):
        def record(execute, sql, params, many, context):
            if sql.startswith("SELECT") and 'FROM "verification_beneficiary"' in sql:
                registry_reads.append(alias)
            return execute(sql, params, many, context)

        return record

    operator = get_user_model().objects.select_related("membership").get(pk=operator_pk)
    organisation = Organisation.objects.get(pk=organisation_pk)
    with (
        connections["default"].execute_wrapper(recorder("default")),
        connections["replica_1"].execute_wrapper(recorder("replica_1")),
    ):
        verification = services.start_verification(
            organisation=organisation,
            operator=operator,
            full_name=name,
            mobile=mobile,
            purpose="travel",
        )
    return {"beneficiary": verification.beneficiary_id, "registry_reads": registry_reads}


if __name__ == "__main__":
    if sys.argv[3:4] == ["--start"]:
        print(json.dumps(start(*sys.argv[1:3], *sys.argv[4:6])))
    else:
        print(json.dumps(main(*sys.argv[1:3])))
