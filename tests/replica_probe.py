"""Run by tests/test_replica.py in a process of its own, whose DATABASE_REPLICA_URLS names
a real streaming replica (outside the test-database machinery, which would mirror the
primary): looks a citizen up through the router and prints, as one JSON object, what each
lookup found, through which alias, and whether that server is a replica.

    python -m tests.replica_probe "Asha Patel" 9876543210
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


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3])))
