"""The origins an organisation lets frame KYVS: the rule, the console page, the command."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from providers.origins import MAX_ORIGINS, parse_origin, parse_origins
from tests.factories import give_totp_device, make_member

PAGE = "/console/embed/"


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://booking.example.com", "https://booking.example.com"),
        ("  HTTPS://Booking.Example.COM/  ", "https://booking.example.com"),
        ("https://booking.example.com:443", "https://booking.example.com"),
        ("https://hr.example.in:8443", "https://hr.example.in:8443"),
        ("https://xn--h1aax.example", "https://xn--h1aax.example"),
    ],
)
def test_an_origin_is_kept_in_the_form_browsers_name_it(typed, origin):
    assert parse_origin(typed) == origin


@pytest.mark.parametrize(
    "typed",
    [
        "http://booking.example.com",
        "booking.example.com",
        "https://booking.example.com/embed",
        "https://booking.example.com/?x=1",
        "https://booking.example.com#top",
        "https://user:pw@booking.example.com",
        "https://*.example.com",
        "https://bücher.example",
        "https://-bad-.example.com",
        "https://booking.example.com:99999",
        "ftp://booking.example.com",
        "javascript:alert(1)",
        "https://",
        "",
    ],
)
def test_anything_but_an_https_origin_is_refused(typed):
    with pytest.raises(ValidationError):
        parse_origin(typed)


def test_loopback_http_is_accepted_only_when_allowed():
    for typed in ("http://localhost:8000", "http://127.0.0.1:5173"):
        with pytest.raises(ValidationError):
            parse_origin(typed)
        assert parse_origin(typed, allow_loopback_http=True) == typed
    with pytest.raises(ValidationError):
        parse_origin("http://booking.example.com", allow_loopback_http=True)


def test_a_list_drops_blanks_and_repeats_and_names_every_bad_one():
    assert parse_origins(["https://a.example", "", "https://A.example/", "https://b.example"]) == [
        "https://a.example",
        "https://b.example",
    ]
    with pytest.raises(ValidationError) as refused:
        parse_origins(["http://a.example", "https://ok.example", "https://b.example/path"])
    assert len(refused.value.messages) == 2


def test_a_list_has_at_most_the_maximum():
    many = [f"https://site{i}.example" for i in range(MAX_ORIGINS + 1)]
    with pytest.raises(ValidationError):
        parse_origins(many)
    assert len(parse_origins(many[:MAX_ORIGINS])) == MAX_ORIGINS


# --- the console page ------------------------------------------------------------------------


@pytest.fixture
def dina(other_organisation):
    """The admin of another organisation."""
    user = make_member(other_organisation, "dina", role="admin")
    give_totp_device(user)
    return user


def test_anonymous_visitors_are_sent_to_sign_in(client, organisation):
    for response in (client.get(PAGE), client.post(PAGE, {"origins": "https://x.example"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    organisation.refresh_from_db()
    assert organisation.embed_origins == []


def test_operators_are_refused(client, bob, organisation):
    client.force_login(bob)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"origins": "https://x.example"}).status_code == 403
    organisation.refresh_from_db()
    assert organisation.embed_origins == []


def test_another_organisations_admin_changes_only_their_own(
    client, dina, organisation, other_organisation
):
    organisation.set_embed_origins(["https://booking.sahyatri.example"])
    client.force_login(dina)
    assert "sahyatri" not in client.get(PAGE).content.decode()
    client.post(PAGE, {"origins": "https://rail.example"})
    organisation.refresh_from_db()
    other_organisation.refresh_from_db()
    assert organisation.embed_origins == ["https://booking.sahyatri.example"]
    assert other_organisation.embed_origins == ["https://rail.example"]


def test_the_admin_saves_origins_and_gets_the_snippet(client, alice, organisation):
    client.force_login(alice)
    page = client.get(PAGE).content.decode()
    assert "Save at least one origin first" in page and "&lt;iframe" not in page

    response = client.post(
        PAGE, {"origins": "https://Booking.Sahyatri.example/\r\n\r\nhttps://hr.sahyatri.example"}
    )
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.embed_origins == [
        "https://booking.sahyatri.example",
        "https://hr.sahyatri.example",
    ]
    page = client.get(PAGE).content.decode()
    assert f'&lt;iframe src="http://testserver/embed/{organisation.public_id}/"' in page
    assert 'width="400" height="640"&gt;&lt;/iframe&gt;' in page
    assert "https://hr.sahyatri.example" in page


def test_a_bad_origin_is_refused_and_nothing_is_saved(client, alice, organisation):
    organisation.set_embed_origins(["https://booking.sahyatri.example"])
    client.force_login(alice)
    response = client.post(
        PAGE, {"origins": "https://ok.example\nhttp://booking.sahyatri.example"}
    )
    assert response.status_code == 422
    assert "http://booking.sahyatri.example must start with https://." in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.embed_origins == ["https://booking.sahyatri.example"]


def test_loopback_origins_are_for_debug_mode_only(client, alice, organisation, settings):
    client.force_login(alice)
    assert client.post(PAGE, {"origins": "http://localhost:8000"}).status_code == 422
    settings.DEBUG = True
    assert client.post(PAGE, {"origins": "http://localhost:8000"}).status_code == 302
    organisation.refresh_from_db()
    assert organisation.embed_origins == ["http://localhost:8000"]


def test_an_empty_list_lets_no_site_frame_kyvs(client, alice, organisation):
    organisation.set_embed_origins(["https://booking.sahyatri.example"])
    client.force_login(alice)
    assert client.post(PAGE, {"origins": ""}).status_code == 302
    organisation.refresh_from_db()
    assert organisation.embed_origins == []


# --- the command -----------------------------------------------------------------------------


def test_the_command_replaces_the_list(organisation, capsys):
    organisation.set_embed_origins(["https://old.example"])
    call_command("set_embed_origins", organisation.name, "https://a.example", "https://b.example")
    organisation.refresh_from_db()
    assert organisation.embed_origins == ["https://a.example", "https://b.example"]
    assert "https://a.example, https://b.example" in capsys.readouterr().out


def test_the_command_refuses_a_bad_origin_or_an_unknown_organisation(organisation):
    with pytest.raises(CommandError, match="must start with https"):
        call_command("set_embed_origins", organisation.name, "http://a.example")
    with pytest.raises(CommandError, match="No organisation"):
        call_command("set_embed_origins", "Nobody Ltd", "https://a.example")
    organisation.refresh_from_db()
    assert organisation.embed_origins == []
