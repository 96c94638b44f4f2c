"""Who may frame which page, and the cookies of a framed page (kyvs/framing.py)."""

import pytest

from tests.embed.helpers import ORIGIN, csp_of, register
from tests.factories import make_member

pytestmark = pytest.mark.django_db

NOT_EMBEDDED = [
    "/accounts/login/",
    "/verify/",
    "/console/",
    "/console/embed/",
    "/providers/apply/",
    "/api/docs/",
    "/receipts/verify/",
]


@pytest.mark.parametrize("url", NOT_EMBEDDED)
def test_every_page_but_the_embed_refuses_to_be_framed(client, organisation, url):
    register(organisation, ORIGIN)
    client.force_login(make_member(organisation, role="admin"))
    response = client.get(url)
    assert response.status_code in (200, 302)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert csp_of(response)["frame-ancestors"] == ["'none'"]


def test_the_embed_may_be_framed_by_the_organisations_origins_only(client, organisation):
    register(organisation, ORIGIN, "https://hr.sahyatri.example")
    response = client.get(f"/embed/{organisation.public_id}/sign-in/", follow=True)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    policy = csp_of(response)
    assert policy["frame-ancestors"] == [ORIGIN, "https://hr.sahyatri.example"]
    # The rest of the policy is the portal's: no inline script there either.
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]


def test_an_organisation_with_no_origins_cannot_be_framed_at_all(client, organisation):
    response = client.get(f"/embed/{organisation.public_id}/sign-in/", follow=True)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert csp_of(response)["frame-ancestors"] == ["'none'"]


def test_another_organisations_origins_never_frame_this_one(
    client, organisation, other_organisation
):
    register(organisation, ORIGIN)
    register(other_organisation, "https://rail.example")
    response = client.get(f"/embed/{other_organisation.public_id}/sign-in/", follow=True)
    assert csp_of(response)["frame-ancestors"] == ["https://rail.example"]


def set_cookie_lines(response) -> dict[str, str]:
    """Each Set-Cookie header as the WSGI handler writes it, by cookie name."""
    return {name: morsel.output(header="").strip() for name, morsel in response.cookies.items()}


def test_the_embed_writes_cookies_of_its_own_that_work_in_a_third_party_frame(
    client, organisation, bob
):
    register(organisation, ORIGIN)
    url = f"/embed/{organisation.public_id}/sign-in/?next=/embed/{organisation.public_id}/"
    client.get(url)
    response = client.post(url, {"username": "bob", "password": "password-for-tests"})
    assert response.status_code == 302
    lines = set_cookie_lines(response)
    assert set(lines) == {"kyvs_embed_session", "kyvs_embed_csrftoken"}
    for line in lines.values():
        assert "SameSite=None" in line and "Secure" in line and line.endswith("; Partitioned")
        assert "Path=/embed/" in line
    assert "HttpOnly" in lines["kyvs_embed_session"]

    # ...and reads them: the frame is signed in.
    assert client.get(f"/embed/{organisation.public_id}/").status_code == 200


def test_the_portals_cookies_keep_their_strict_settings(client, organisation, bob):
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/", {"username": "bob", "password": "password-for-tests"}
    )
    lines = set_cookie_lines(response)
    assert set(lines) == {"sessionid", "csrftoken"}
    for line in lines.values():
        assert "SameSite=Lax" in line and "Partitioned" not in line and "Path=/;" in line


def test_a_portal_session_is_never_used_inside_the_frame(client, organisation, bob):
    register(organisation, ORIGIN)
    client.force_login(bob)  # signed in on the portal: the sessionid cookie
    assert client.get("/verify/").status_code == 200
    response = client.get(f"/embed/{organisation.public_id}/")
    assert response.status_code == 302
    assert f"/embed/{organisation.public_id}/sign-in/" in response["Location"]


def test_the_embed_language_cookie_is_the_embeds_own(client, organisation):
    register(organisation, ORIGIN)
    start = f"/embed/{organisation.public_id}/"
    response = client.get(f"{start}sign-in/?next={start}&lang=hi")
    line = set_cookie_lines(response)["kyvs_embed_language"]
    assert line.startswith("kyvs_embed_language=hi;") and line.endswith("; Partitioned")
    assert 'lang="hi"' in response.content.decode()


def test_the_embed_demo_is_not_served_outside_debug_mode(client):
    assert client.get("/embed/demo/").status_code == 404
