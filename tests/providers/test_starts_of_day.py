"""providers.models.StartsOfDay: an organisation's starts of a day, what its daily quota
is checked against, one row a day whatever the day's volume."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from providers.models import StartsOfDay
from tests.factories import make_verification, start_for
from verification import services
from verification.refusals import Refusal

pytestmark = pytest.mark.django_db


def counted(organisation) -> dict:
    return dict(
        StartsOfDay.objects.filter(organisation=organisation).values_list("day", "started")
    )


def test_starts_are_counted_by_the_day_in_indian_standard_time(organisation, bob):
    evening = timezone.make_aware(datetime(2026, 11, 30, 23, 50))
    for minutes in (0, 5, 15):
        make_verification(organisation, bob, started=evening + timedelta(minutes=minutes))
    assert counted(organisation) == {date(2026, 11, 30): 2, date(2026, 12, 1): 1}
    with time_machine.travel(evening + timedelta(minutes=1), tick=False):
        assert organisation.started_today() == 2
    with time_machine.travel(evening + timedelta(minutes=30), tick=False):
        assert organisation.started_today() == 1


def test_each_start_adds_one_and_a_refused_start_adds_nothing(organisation, bob, sms_outbox):
    organisation.daily_quota = 2
    organisation.save()
    start_for(organisation, bob, mobile="9876543210")
    start_for(organisation, bob, mobile="9876543211")
    assert organisation.started_today() == 2
    with pytest.raises(services.VerificationRefused) as refused:
        start_for(organisation, bob, mobile="9876543212")
    assert refused.value.refusal == Refusal.QUOTA_EXCEEDED
    assert organisation.started_today() == 2


def test_the_quota_reads_the_count_not_the_verifications(organisation, bob, sms_outbox):
    organisation.daily_quota = 1
    organisation.save()
    start_for(organisation, bob).delete()
    with pytest.raises(services.VerificationRefused) as refused:
        start_for(organisation, bob, mobile="9876543211")
    assert refused.value.refusal == Refusal.QUOTA_EXCEEDED


def test_the_count_is_read_back_where_the_database_cannot_return_it_from_an_insert(
    organisation, bob, sms_outbox, monkeypatch
):
    from django.db import connection

    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    now = timezone.now()
    assert organisation.take_start(now) == 1
    assert organisation.take_start(now) == 2
    assert counted(organisation) == {timezone.localdate(now): 2}
