"""The embeddable page in a real Chromium, framed by pages of other origins.

KYVS is pytest-django's live server at http://localhost:PORT. The organisation's own site
is a small HTTP server of the test's own at http://127.0.0.1:OTHER (another origin, and
another site, so the frame is a true third-party frame and its cookies must be the embed's
`SameSite=None; Secure; Partitioned` ones); a second such server is a site the organisation
never registered. Each parent page collects the messages it receives.
"""

import json
import re
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from playwright.sync_api import expect

from providers.models import Organisation
from tests.conftest import otp_from
from tests.e2e.conftest import SCREENSHOTS
from tests.embed.helpers import create_session, issue_key, path_of, register, session_status
from tests.factories import (
    add_dose,
    give_totp_device,
    make_beneficiary,
    make_member,
    make_organisation,
    totp_now,
)
from verification.models import Vaccine, Verification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRAME = {"width": 400, "height": 640}

# The organisation's page: the frame, and every message it receives, kept for the test.
PARENT = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Booking</title></head>
<body><h1>Sahyatri booking desk</h1>
<iframe id="kyvs" src="{src}" width="400" height="640" title="KYVS"></iframe>
<script>
window.received = [];
window.addEventListener("message", function (event) {{
  window.received.push({{origin: event.origin, data: event.data}});
}});
</script></body></html>"""


class _Parent(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        src = parse_qs(urlsplit(self.path).query).get("src", [""])[0]
        body = PARENT.format(src=src.replace('"', "&quot;")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Site:
    """A page of another origin that frames whatever address it is given."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Parent)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def framing(self, src: str) -> str:
        return f"{self.origin}/?src={src}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def booking_site():
    site = Site()
    yield site
    site.close()


@pytest.fixture
def stranger_site():
    site = Site()
    yield site
    site.close()


@pytest.fixture
def organisation(booking_site):
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    organisation = make_organisation(name="Sahyatri Travels", scopes=["vaccinations"])
    register(organisation, booking_site.origin, loopback=True)
    return organisation


@pytest.fixture
def asha():
    person = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990, gender="F")
    add_dose(person, "Covishield", 1, date(2021, 5, 3))
    add_dose(person, "Covishield", 2, date(2021, 8, 2))
    return person


@pytest.fixture
def shoot():
    """Save what the 400 × 640 frame shows as tests/e2e/screenshots/embed-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        page.locator("#kyvs").screenshot(path=str(SCREENSHOTS / f"embed-{name}.png"))

    return take


def frame_of(page):
    return page.frame_locator("#kyvs")


def is_blocked(page) -> bool:
    """Whether Chromium refused to show the framed page (it shows its own error page)."""
    frame = page.frame(url=lambda url: url != page.url and url != "about:blank")
    return frame is None or frame.url.startswith("chrome-error://")


def received(page) -> list[dict]:
    return page.evaluate("window.received")


def wait_for_message(page) -> dict:
    page.wait_for_function("window.received.length > 0")
    return received(page)


def in_first_screen(page, locator):
    """Whether `locator` is within the frame's 640 pixels without scrolling."""
    frame_box = page.locator("#kyvs").bounding_box()
    box = locator.bounding_box()
    return box["y"] + box["height"] <= frame_box["y"] + FRAME["height"]


def no_horizontal_scroll(page):
    inner = page.frames[1]
    assert inner.evaluate("document.documentElement.scrollWidth") <= FRAME["width"]


# --- (a) the no-code flow, signing in inside the frame ---------------------------------------


def test_the_no_code_flow_completes_inside_the_frame_after_signing_in_there(
    live_server, page, shoot, sms_outbox, organisation, asha, booking_site
):
    alice = make_member(organisation, "alice", role="admin")
    device = give_totp_device(alice)
    page.goto(booking_site.framing(f"{live_server.url}/embed/{organisation.public_id}/"))
    frame = frame_of(page)

    expect(frame.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not is_blocked(page)
    shoot(page, "nocode-01-sign-in-en")
    frame.get_by_label("Username").fill("alice")
    frame.get_by_label("Password").fill("password-for-tests")
    frame.get_by_role("button", name="Sign in").click()

    # An admin: the second factor, inside the frame too.
    expect(frame.get_by_role("heading", name="Enter your code")).to_be_visible()
    shoot(page, "nocode-02-two-factor-en")
    frame.get_by_label("Code").fill(totp_now(device))
    frame.get_by_role("button", name="Continue").click()

    expect(
        frame.get_by_role("heading", name="Verify a customer's vaccination status")
    ).to_be_visible()
    shoot(page, "nocode-03-form-en")
    frame.get_by_label("Customer's full name").fill("Asha Patel")
    frame.get_by_label("Registered mobile number").fill("98765 43210")
    frame.get_by_label("Travel").check()
    frame.get_by_role("button", name="Send code to customer").click()

    expect(frame.get_by_role("heading", name=re.compile("is asking to see your"))).to_be_visible()
    no_horizontal_scroll(page)
    shoot(page, "nocode-04-consent-en")
    frame.get_by_label("One-time password (OTP)").fill(otp_from(sms_outbox[-1]))
    frame.get_by_role("button", name="I agree — share my status").click()

    expect(frame.get_by_role("status").filter(has_text="Fully vaccinated")).to_be_visible()
    no_horizontal_scroll(page)
    shoot(page, "nocode-05-result-en")
    verification = Verification.objects.get()
    assert verification.channel == Verification.Channel.EMBED
    assert verification.operator == alice and verification.state == "verified"
    # The page itself stayed where it was: everything happened in the frame.
    assert page.url.startswith(booking_site.origin)
    # An operator's frame tells its parent nothing: it has no back end to check it against.
    assert received(page) == []

    frame.get_by_role("link", name="Next customer").click()
    expect(frame.get_by_label("Customer's full name")).to_have_value("")


# --- (b) an embed session, no sign-in, the message and the receipt ---------------------------


def test_an_embed_session_completes_without_sign_in_and_tells_the_parent(
    live_server, page, shoot, sms_outbox, organisation, asha, booking_site
):
    key = issue_key(organisation)
    made = create_session(
        key, origin=booking_site.origin, full_name="Asha Patel", mobile_number="9876543210"
    )
    assert made.status_code == 201, made.content
    session = made.json()
    url = live_server.url + path_of(session["url"])
    page.goto(booking_site.framing(url))
    frame = frame_of(page)

    expect(frame.get_by_role("heading", name=re.compile("is asking to see your"))).to_be_visible()
    shoot(page, "session-01-consent-en")
    code = otp_from(sms_outbox[-1])
    frame.get_by_label("One-time password (OTP)").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    frame.get_by_role("button", name="I agree — share my status").click()
    expect(frame.get_by_text("That code is not right.")).to_be_visible()
    assert in_first_screen(page, frame.get_by_text("That code is not right."))
    shoot(page, "session-02-wrong-code-en")
    assert received(page) == []
    frame.get_by_label("One-time password (OTP)").fill(code)
    frame.get_by_role("button", name="I agree — share my status").click()

    expect(frame.get_by_role("status").filter(has_text="Fully vaccinated")).to_be_visible()
    shoot(page, "session-03-result-en")
    [message] = wait_for_message(page)
    assert message["origin"] == live_server.url
    data = message["data"]
    verification = Verification.objects.get()
    assert data["type"] == "kyvs.verification.finished"
    assert data["session_id"] == session["session_id"]
    assert data["txnId"] == str(verification.public_id)
    assert data["outcome"] == "verified" and data["vaccination_status"] == 2

    # The receipt verifies against the published keys, fetched as anyone would.
    jwks = page.request.get(f"{live_server.url}/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(data["receipt"])
    [jwk] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(
        data["receipt"],
        jwt.PyJWK(jwk).key,
        algorithms=["EdDSA"],
        audience=str(organisation.public_id),
    )
    assert claims["sub"] == str(verification.public_id) and claims["vaccination_status"] == 2

    # The back end hears the same from the API, without trusting the browser.
    answer = session_status(key, session["session_id"]).json()
    assert answer["outcome"] == "verified" and answer["vaccination_status"] == 2
    assert answer["receipt"] == data["receipt"]


def test_an_embed_session_without_the_customers_details_shows_the_form(
    live_server, page, shoot, sms_outbox, organisation, asha, booking_site
):
    key = issue_key(organisation)
    session = create_session(key, origin=booking_site.origin).json()
    page.goto(booking_site.framing(live_server.url + path_of(session["url"])))
    frame = frame_of(page)

    expect(frame.get_by_label("Customer's full name")).to_be_visible()
    # The purpose is the one the back end chose: shown, not offered.
    expect(frame.get_by_text("Travel", exact=True)).to_be_visible()
    expect(frame.get_by_role("radio")).to_have_count(0)
    shoot(page, "session-04-form-en")
    frame.get_by_label("Customer's full name").fill("Asha Patel")
    frame.get_by_label("Registered mobile number").fill("9876543210")
    frame.get_by_role("button", name="Send code to customer").click()
    expect(frame.get_by_role("heading", name=re.compile("is asking to see your"))).to_be_visible()

    frame.get_by_role("button", name="Cancel").click()
    expect(frame.get_by_role("heading", name="This verification is closed")).to_be_visible()
    shoot(page, "session-05-cancelled-en")
    [message] = wait_for_message(page)
    assert message["data"]["outcome"] == "cancelled"
    assert message["data"]["vaccination_status"] is None and message["data"]["receipt"] is None
    assert session_status(key, session["session_id"]).json()["outcome"] == "cancelled"


# --- (c) and (d): who may frame --------------------------------------------------------------


def test_a_page_of_an_unregistered_origin_cannot_frame_either_form(
    live_server, page, organisation, stranger_site
):
    page.goto(stranger_site.framing(f"{live_server.url}/embed/{organisation.public_id}/"))
    page.wait_for_load_state("load")
    assert is_blocked(page)
    expect(frame_of(page).get_by_role("heading", name="Sign in")).to_have_count(0)

    key = issue_key(organisation)
    for origin in (stranger_site.origin, None):
        # Neither can it have a session of its own, nor show one made for the booking site.
        body = {"origin": origin} if origin else {}
        made = create_session(key, **body)
        if origin:
            assert made.status_code == 403
            assert made.json()["errorCode"] == "EMBED0001"
    assert made.status_code == 403  # the default ORIGIN is not registered either
    registered = Organisation.objects.get(pk=organisation.pk).embed_origins[0]
    session = create_session(key, origin=registered).json()
    page.goto(stranger_site.framing(live_server.url + path_of(session["url"])))
    page.wait_for_load_state("load")
    assert is_blocked(page)


def test_a_page_that_is_not_the_embed_cannot_be_framed_at_all(
    live_server, page, organisation, booking_site
):
    make_member(organisation, "bob")
    for path in ["/verify/", "/accounts/login/", "/console/embed/", "/api/docs/"]:
        page.goto(booking_site.framing(live_server.url + path))
        page.wait_for_load_state("load")
        assert is_blocked(page), path


# --- postMessage goes to the registered origin only ------------------------------------------


def _without_framing_headers(route):
    """The frame's answer with its CSP and X-Frame-Options taken off, so that a page of
    another origin can frame it, and only the postMessage target stands in the way."""
    response = route.fetch()
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in ("content-security-policy", "x-frame-options")
    }
    route.fulfill(response=response, headers=headers)


@pytest.mark.parametrize("parent", ["registered", "stranger"])
def test_the_message_reaches_a_parent_at_the_registered_origin_and_no_other(
    live_server, page, sms_outbox, organisation, asha, booking_site, stranger_site, parent
):
    key = issue_key(organisation)
    session = create_session(
        key, origin=booking_site.origin, full_name="Asha Patel", mobile_number="9876543210"
    ).json()
    site = booking_site if parent == "registered" else stranger_site
    page.route(re.compile(r"^http://localhost:\d+/embed/"), _without_framing_headers)
    page.goto(site.framing(live_server.url + path_of(session["url"])))
    frame = frame_of(page)
    frame.get_by_label("One-time password (OTP)").fill(otp_from(sms_outbox[-1]))
    frame.get_by_role("button", name="I agree — share my status").click()
    expect(frame.get_by_role("status").filter(has_text="Fully vaccinated")).to_be_visible()
    # The frame posted as the result page loaded; give the event loop a turn to deliver it.
    page.wait_for_function("new Promise(resolve => setTimeout(() => resolve(true), 300))")
    messages = received(page)
    if parent == "registered":
        assert [m["data"]["outcome"] for m in messages] == ["verified"]
    else:
        assert messages == []


# --- every screen, in Gujarati and Hindi too -------------------------------------------------


@pytest.mark.parametrize("language", ["en", "gu", "hi"])
def test_each_screen_fits_the_frame_in_each_language(
    live_server, page, shoot, sms_outbox, organisation, asha, booking_site, language
):
    make_member(organisation, "bob")
    page.goto(
        booking_site.framing(f"{live_server.url}/embed/{organisation.public_id}/?lang={language}")
    )
    frame = frame_of(page)
    expect(frame.locator("html")).to_have_attribute("lang", language)
    shoot(page, f"screens-01-sign-in-{language}")
    frame.locator("#id_username").fill("bob")
    frame.locator("#id_password").fill("password-for-tests")
    frame.locator("button[type=submit]").last.click()

    expect(frame.locator("#id_full_name")).to_be_visible()
    frame.locator("button[type=submit]").last.click()  # empty: the errors
    expect(frame.locator(".error-summary")).to_be_visible()
    no_horizontal_scroll(page)
    shoot(page, f"screens-02-form-errors-{language}")
    frame.locator("#id_full_name").fill("Asha Patel")
    frame.locator("#id_mobile_number").fill("9876543210")
    frame.locator("input[name=purpose][value=travel]").check()
    frame.locator("button[type=submit]").last.click()

    expect(frame.locator("#id_otp")).to_be_visible()
    no_horizontal_scroll(page)
    # The citizen finds the code box without scrolling.
    assert in_first_screen(page, frame.locator("#id_otp"))
    shoot(page, f"screens-03-consent-{language}")
    frame.locator("#id_otp").fill(otp_from(sms_outbox[-1]))
    frame.locator(".otp-form button[type=submit]").click()

    expect(frame.locator(".badge--2")).to_be_visible()
    no_horizontal_scroll(page)
    shoot(page, f"screens-04-result-{language}")

    key = issue_key(organisation)
    session = create_session(key, origin=booking_site.origin).json()
    url = live_server.url + path_of(session["url"])
    page.goto(booking_site.framing(f"{url}?lang={language}"))
    expect(frame.locator("#id_full_name")).to_be_visible()
    shoot(page, f"screens-05-session-form-{language}")
    page.goto(booking_site.framing(f"{url}?lang={language}"))
    expect(frame.locator("h1")).to_be_visible()
    assert frame.locator("h1").inner_text().strip() != ""
    shoot(page, f"screens-06-link-used-{language}")
    if language == "en":
        expect(
            frame.get_by_role("heading", name="This link has already been used")
        ).to_be_visible()
    assert json.loads(page.evaluate("JSON.stringify(window.received)")) == []
