import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/my-status/", "/privacy/", "/providers/apply/"]
)
def test_every_kind_of_page_names_the_shield_as_its_icon(client, path):
    page = client.get(path).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


def test_the_icon_exists_among_the_static_files():
    assert finders.find("favicon.svg")


def test_favicon_ico_leads_to_the_shield_and_sets_no_cookie(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert not response.cookies
