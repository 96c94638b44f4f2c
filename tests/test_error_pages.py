"""Error pages speak plainly, look like the product, and the API never gets one of them."""

import json

import pytest
from django.db import OperationalError, ProgrammingError
from django.template import loader
from django.test import RequestFactory, override_settings
from django.utils import translation
from django.views.defaults import server_error

from kyvs import limits
from kyvs.views import limit_refused_page
from tests.factories import make_member, make_organisation
from tests.verification.api_client import ApiClient, issue_key

pytestmark = pytest.mark.django_db


def test_an_unknown_page_answers_404_with_the_products_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "We cannot find this page" in page
    assert "css/kyvs.css" in page


def test_another_organisations_verification_is_a_plain_404(client):
    client.force_login(make_member(make_organisation()))

    response = client.get("/verify/00000000-0000-4000-8000-000000000000/")

    assert response.status_code == 404
    assert "We cannot find this page" in response.content.decode()


def test_an_operator_refused_a_console_page_sees_the_403_page(client):
    client.force_login(make_member(make_organisation(), role="operator"))

    response = client.get("/console/api-keys/")

    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


def test_a_form_sent_without_its_csrf_token_gets_a_page_that_says_what_to_do(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_the_500_page_needs_no_request_context():
    # server_error renders 500.html with no request and no context processors.
    html = loader.get_template("500.html").render()

    assert "Something went wrong on our side" in html
    assert "css/kyvs.css" in html
    assert "{%" not in html


@override_settings(DEBUG=False)
def test_a_server_error_answers_500_with_the_products_page():
    response = server_error(RequestFactory().get("/verify/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.parametrize("template", ["403.html", "404.html", "429.html", "500.html"])
def test_the_error_pages_follow_the_language_of_the_screen(template):
    with translation.override("hi"):
        html = loader.get_template(template).render({"minutes": 5})
    with translation.override("en"):
        english = loader.get_template(template).render({"minutes": 5})
    assert 'lang="hi"' in html
    assert 'lang="en"' in english


# --- 429 --------------------------------------------------------------------------------


def test_a_rate_limited_page_answers_429_with_retry_after_and_a_page(rf):
    request = rf.post("/providers/apply/")

    response = limit_refused_page(request, limits.RateLimited(limits.APPLICATIONS_PER_IP, 90))

    assert response.status_code == 429
    assert response["Retry-After"] == "90"
    assert "Too many attempts" in response.content.decode()
    assert "wait 2 minutes" in response.content.decode()


def test_the_wait_is_read_from_the_limit_that_refused(client, mid_hour):
    # Every sending of the apply form counts against a generous flood limit.
    for n in range(limits.APPLICATION_ATTEMPTS_PER_IP.count + 1):
        response = client.post("/providers/apply/", {"name": f"Try {n}"})

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "minutes" in response.content.decode()


def test_the_429_page_leads_back_to_the_form_that_was_sent(rf):
    request = rf.post("/accounts/two-factor/?next=/console/")

    page = limit_refused_page(request, limits.RateLimited(limits.APPLICATIONS_PER_IP, 90))

    html = page.content.decode()
    assert 'href="/accounts/two-factor/?next=/console/">Back to the form</a>' in html
    assert "Go to the start page" not in html


def test_a_limit_that_cannot_be_counted_answers_503_with_retry_after(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    response = client.post("/providers/apply/", {"name": "Try"})

    assert response.status_code == 503
    assert response["Retry-After"] == str(limits.UNAVAILABLE_RETRY_AFTER)
    assert "Not available just now" in response.content.decode()


def test_the_api_never_gets_an_html_429_page(api_key_client, asha, sms_outbox):
    # The API's own limits answer in the API's error format, with the limit's wait.
    for _ in range(5):
        api_key_client.generate("Asha Patel", "9876543210")
    response = api_key_client.generate("Asha Patel", "9876543210")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["errorCode"] == "RATE0001"
    assert int(response["Retry-After"]) > 0


@pytest.fixture
def api_key_client(organisation):
    return ApiClient(issue_key(organisation))


# --- 503: the database or the cache out of reach ------------------------------------------


def test_a_database_outage_answers_503_with_retry_after_and_a_page_that_needs_no_database(
    client, monkeypatch, settings
):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client.raise_request_exception = False

    def out_of_reach(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("verification.views.render", out_of_reach)
    client.force_login(make_member(make_organisation(), "operator7"))
    response = client.get("/verify/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Not available just now" in response.content.decode()


def test_a_database_outage_in_the_api_answers_503_in_the_apis_format(api_key_client, monkeypatch):
    def out_of_reach(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("verification.services.start_verification", out_of_reach)
    response = api_key_client.generate("Asha Patel", "9876543210")
    assert response.status_code == 503
    assert json.loads(response.content)["errorCode"] == "SRV0003"
    assert int(response["Retry-After"]) > 0


def test_a_bug_in_the_database_layer_is_still_a_500(client, monkeypatch):
    client.raise_request_exception = False

    def bug(*args, **kwargs):
        raise ProgrammingError("no such column")

    monkeypatch.setattr("verification.views.render", bug)
    client.force_login(make_member(make_organisation(), "operator8"))
    assert client.get("/verify/").status_code == 500
