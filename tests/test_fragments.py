"""Empty forms drawn once a process and language (the "fragments" cache, docs/performance.md):
kept apart by everything that changes them, and never used for a form sent back."""

import pytest
from django.test.signals import template_rendered

from tests.factories import make_member, make_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn():
    """The names of the templates drawn while the test runs, in order."""
    names = []

    def record(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    yield names
    template_rendered.disconnect(record)


def test_the_operators_empty_form_is_drawn_once_and_then_reused(client, bob, drawn):
    client.force_login(bob)
    first = client.get("/verify/").content.decode()
    assert "verification/_start_fields.html" in drawn
    drawn.clear()
    second = client.get("/verify/").content.decode()
    assert "verification/_start_fields.html" not in drawn
    assert 'name="full_name"' in second
    assert first.split('name="full_name"')[1][:2000] == second.split('name="full_name"')[1][:2000]


def test_a_change_of_the_organisations_purposes_shows_at_once(client, bob, organisation):
    client.force_login(bob)
    assert 'value="employment"' not in client.get("/verify/").content.decode()
    organisation.purposes = ["travel", "employment"]
    organisation.save()
    page = client.get("/verify/").content.decode()
    assert 'value="employment"' in page
    assert 'value="service"' not in page


def test_each_organisation_sees_its_own_purposes(client, bob):
    client.force_login(bob)
    client.get("/verify/")
    rail = make_organisation(name="Rail Counter", purposes=["travel"])
    clerk = make_member(rail, "clerk")
    client.force_login(clerk)
    assert 'value="service"' not in client.get("/verify/").content.decode()


def test_each_language_gets_its_own_copy(client, bob, settings):
    client.force_login(bob)
    assert "Customer&#x27;s full name" in client.get("/verify/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "gu"
    page = client.get("/verify/").content.decode()
    assert "Customer&#x27;s full name" not in page
    assert "ગ્રાહકનું પૂરું નામ" in page


def test_a_form_sent_back_with_mistakes_is_drawn_afresh(client, bob):
    client.force_login(bob)
    client.get("/verify/")
    page = client.post("/verify/", {"full_name": "Asha Patel", "mobile_number": "12"})
    assert 'value="Asha Patel"' in page.content.decode()
    assert "field--error" in page.content.decode()


def test_the_empty_apply_form_is_drawn_once_a_language(client, drawn, settings):
    client.get("/providers/apply/")
    assert "providers/_apply_fields.html" in drawn
    drawn.clear()
    client.get("/providers/apply/")
    assert "providers/_apply_fields.html" not in drawn
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    client.get("/providers/apply/")
    assert "providers/_apply_fields.html" in drawn


def test_an_apply_form_sent_back_keeps_what_was_typed(client):
    client.get("/providers/apply/")
    page = client.post("/providers/apply/", {"name": "Hotel Sayaji"}).content.decode()
    assert 'value="Hotel Sayaji"' in page
