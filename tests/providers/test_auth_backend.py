"""providers.auth.MemberBackend: the signed-in account, its place and its devices in one
query on each request."""

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.access import has_device
from providers.auth import MemberBackend
from providers.models import BackupCodeDevice
from tests.factories import give_totp_device

pytestmark = pytest.mark.django_db


def test_the_account_its_organisation_and_its_devices_are_read_in_one_query(
    bob, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = MemberBackend().get_user(bob.pk)
        assert user.membership.organisation.name == "Sahyatri Travels"
        assert has_device(user) is False


def test_an_account_without_an_organisation_is_read_in_one_query(
    admin_user, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = MemberBackend().get_user(admin_user.pk)
        assert getattr(user, "membership", None) is None


def test_a_confirmed_authenticator_app_counts_as_a_device(alice):
    assert has_device(MemberBackend().get_user(alice.pk)) is True


def test_an_unconfirmed_authenticator_app_does_not(bob):
    TOTPDevice.objects.create(user=bob, name="half enrolled", confirmed=False)
    user = MemberBackend().get_user(bob.pk)
    assert has_device(user) is False


def test_backup_codes_count_as_a_device(bob):
    BackupCodeDevice.objects.create(user=bob, name="backup codes", confirmed=True)
    assert has_device(MemberBackend().get_user(bob.pk)) is True


def test_the_answer_is_the_one_django_otp_gives_for_an_account_read_elsewhere(bob):
    plain = get_user_model().objects.get(pk=bob.pk)
    assert has_device(plain) is False
    give_totp_device(bob)
    assert has_device(get_user_model().objects.get(pk=bob.pk)) is True


def test_a_deactivated_account_is_not_signed_in(bob):
    bob.is_active = False
    bob.save()
    assert MemberBackend().get_user(bob.pk) is None
