"""Every screen, for every person: each page of the operator, customer, embed, citizen
(front door, My status, share card, who checked me, approve on the phone, privacy notice),
console, apply, receipt, API-docs and registry-admin flows, in English, Gujarati and
Hindi, at 1280 and at 390 px wide, checked by axe-core (WCAG 2.2 AA and best practice) in
a real Chromium.

A page passes when axe finds no serious or critical violation, no Gujarati or Devanagari
text is drawn in a font without those letters (boxes, "tofu"), and, on a phone, the page is
no wider than the screen. One test per language and width walks every screen in SCREENS,
collects every fault, and fails once with all of them listed; the full axe results (every
impact) are written to tests/e2e/screenshots/axe/<language>-<width>.json, and a screenshot
of each screen to tests/e2e/screenshots/axe/<language>-<width>/.

Adding a page is one line in SCREENS: a name, who looks at it (a key of VISITORS), and the
address (or a function of the test's data giving it), optionally with steps to take on the
page first (fill and send a form, open a fold). A screen without an address carries on
from the screen before it, in the same tab: that is how one verification is walked from
the operator's form to the result.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.utils import timezone

from tests.conftest import SecondFactorClient, otp_from
from tests.e2e.conftest import DESKTOP, MOBILE, SCREENSHOTS
from tests.factories import (
    add_dose,
    give_totp_device,
    make_beneficiary,
    make_member,
    make_organisation,
    make_verification,
)
from verification import receipts
from verification.models import Vaccine, Verification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What fails a page: axe's two highest impacts. Moderate and minor findings are kept in the
# report for people to read, not failed on.
FAILING_IMPACTS = {"serious", "critical"}
LANGUAGES = ["en", "gu", "hi"]
WIDTHS = {"1280": DESKTOP, "390": MOBILE}


@dataclass
class World:
    """The data every screen is drawn from, made once per test."""

    organisation: object
    alice: object  # the organisation admin, with an authenticator app
    bob: object  # her operator
    carol: object  # invited, not yet arrived
    registry_admin: object
    pending: object  # an organisation waiting for review
    receipt: str
    invitation: str
    extra: dict = field(default_factory=dict)


def make_world(sms_outbox) -> World:
    from providers.models import ApiKey, Organisation
    from providers.tokens import make_invitation_token

    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    asha = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990, gender="F")
    add_dose(asha, "Covishield", 1, date(2021, 5, 3))
    organisation = make_organisation(
        name="Sahyatri Travels", scopes=["vaccinations", "demographics"]
    )
    alice = make_member(organisation, "alice", role="admin")
    give_totp_device(alice)
    bob = make_member(organisation, "bob")
    carol_membership = organisation.invite("carol@sahyatri.example", "operator", invited_by=alice)
    dave = make_member(organisation, "dave")
    dave.membership.deactivate()
    booking, _raw = ApiKey.issue(
        organisation, "Booking system", scopes=["vaccinations"], created_by=alice
    )
    old_key, _raw = ApiKey.issue(organisation, "Old kiosk", created_by=alice)
    old_key.revoke()
    now = timezone.now()
    outcomes = [
        Verification.State.VERIFIED,
        Verification.State.FAILED,
        Verification.State.OTP_SENT,
    ]
    verified = []
    for day in range(0, 30, 3):
        for n, outcome in enumerate(outcomes[: 1 + day % 3]):
            verification = make_verification(
                organisation, bob, outcome=outcome, started=now - timedelta(days=day, hours=n)
            )
            if outcome == Verification.State.VERIFIED:
                verified.append(verification)
    organisation.embed_origins = ["https://desk.sahyatri.example"]
    organisation.save(update_fields=["embed_origins"])
    registry_admin = _registry_admin()
    pending = make_organisation(
        name="Navrang Cinemas",
        kind=Organisation.Kind.ENTERTAINMENT,
        state=Organisation.State.PENDING,
        scopes=[],
        purposes=[],
        registration_kind="cin",
        registration_number="U92130GJ2009PTC056789",
        address="12 CG Road, Navrangpura, Ahmedabad 380009",
        indian_state="GJ",
        website="https://navrang.example",
        contact_name="Meera Shah",
        contact_email="meera@navrang.example",
        contact_mobile="9898012345",
        requested_purposes=["venue_entry"],
        requested_scopes=["vaccinations"],
        scope_reasons={"vaccinations": "State rules ask us to check the second dose's date."},
        terms_accepted_at=now,
    )
    receipt = receipts.sign(
        receipts.receipt_claims(
            organisation_id=str(organisation.public_id),
            organisation_name=organisation.name,
            result_fields={
                "verification_id": "3f6c2a1e-8d4b-4c1a-9b1e-2f0a7c5d9e11",
                "purpose": "travel",
                "vaccination_status": 2,
                "vaccinations": [
                    {
                        "date": "2021-05-03",
                        "vaccine": "Covishield",
                        "dose_number": 1,
                        "kind": "primary",
                        "centre": "PHC Navrangpura",
                        "district": "Ahmedabad",
                        "state": "Gujarat",
                    }
                ],
            },
            issued_at=now,
        )
    )
    return World(
        organisation=organisation,
        alice=alice,
        bob=bob,
        carol=carol_membership.user,
        registry_admin=registry_admin,
        pending=pending,
        receipt=receipt,
        invitation=make_invitation_token(carol_membership.user),
        extra={
            "sms_outbox": sms_outbox,
            "asha": asha,
            "booking_key": booking,
            "verified": verified[0],
        },
    )


def _registry_admin():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("registry", password="password-for-tests")
    give_totp_device(user)
    return user


# Who looks at a page: a function of the test's data giving the user to sign in as (None:
# nobody signed in), and whether they have passed their second factor.
@dataclass(frozen=True)
class Visitor:
    user: Callable[[World], object] | None
    second_factor_done: bool = True
    # The embed's frames read a session cookie of their own (kyvs/framing.py).
    cookie: str = settings.SESSION_COOKIE_NAME


VISITORS = {
    "anyone": Visitor(None),
    "citizen": Visitor(None),  # on their own phone, signed in to My status by the steps
    "phone": Visitor(None),  # the citizen's phone, opening the link in the OTP SMS
    "operator": Visitor(lambda w: w.bob),
    "operator_in_frame": Visitor(lambda w: w.bob, cookie="kyvs_embed_session"),
    "org_admin": Visitor(lambda w: w.alice),
    "org_admin_before_code": Visitor(lambda w: w.alice, second_factor_done=False),
    "registry_admin": Visitor(lambda w: w.registry_admin),
}


@dataclass(frozen=True)
class Screen:
    name: str
    visitor: str
    path: str | Callable[[World], str] | None
    steps: Callable | None = None  # steps(page, world) taken before the page is checked


# --- steps ------------------------------------------------------------------------------


def send_empty_form(page, world):
    page.locator("main form[method=post] [type=submit]").last.click()
    page.wait_for_load_state()


def start_for_asha(page, world):
    page.locator("input[name=full_name]").fill("Asha Patel")
    page.locator("input[name=mobile_number]").fill("98765 43210")
    page.locator("input[name=purpose][value=travel]").check()
    page.locator("main form.form [type=submit]").click()
    page.locator("input[name=otp]").wait_for()


def type_wrong_code(page, world):
    page.locator("input[name=otp]").fill("000000")
    page.locator("form.otp-form [type=submit]").click()
    page.locator(".field__error").wait_for()


def type_right_code(page, world):
    page.locator("input[name=otp]").fill(otp_from(world.extra["sms_outbox"][-1]))
    page.locator("form.otp-form [type=submit]").click()
    page.locator(".badge").wait_for()
    page.locator("details.receipt summary").click()


def reload(page, world):
    page.reload()


def check_the_receipt(page, world):
    page.locator("textarea[name=receipt]").fill(world.receipt)
    page.locator("main form [type=submit]").click()
    page.wait_for_load_state()


def check_a_forged_receipt(page, world):
    page.locator("textarea[name=receipt]").fill(world.receipt[:-8] + "AAAAAAAA")
    page.locator("main form [type=submit]").click()
    page.wait_for_load_state()


def create_an_api_key(page, world):
    page.locator("input[name=name]").fill("Front desk tablet")
    page.locator("main form.form [type=submit]").click()
    page.wait_for_load_state()


def make_bob_an_admin(page, world):
    form = page.locator(f"form[action*='{world.bob.membership.public_id}/role/']")
    form.locator("select").select_option("admin")
    form.locator("[type=submit]").click()
    page.wait_for_load_state()


def confirm(page, world):
    page.locator("form.confirm-actions [type=submit]").click()
    page.wait_for_load_state()


def receipt_page(world) -> str:
    verification_id = str(world.extra["verified"].public_id)
    return f"/receipts/{verification_id}/?c={receipts.link_check(verification_id)}"


def choose_approve_action(page, world):
    page.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option("approve")
    page.locator("button[name=index]").click()
    page.wait_for_load_state()


def start_own_check(page, world):
    page.locator("input[name=full_name]").fill("Asha Patel")
    page.locator("input[name=mobile_number]").fill("9876543210")
    page.locator("main form.form [type=submit]").click()
    page.locator("input[name=otp]").wait_for()


def type_own_code(page, world):
    page.locator("input[name=otp]").fill(otp_from(world.extra["sms_outbox"][-1]))
    page.locator("form.otp-form [type=submit]").click()
    page.locator(".badge").wait_for()


def make_a_card(page, world):
    page.locator("form[action$='/shares/'] [type=submit]").click()
    link = page.locator("#share-link")
    link.wait_for()
    world.extra["share_path"] = "/" + link.input_value().split("://", 1)[1].split("/", 1)[1]


def lock_my_status(page, world):
    page.locator("form[action$='/lock/'] [type=submit]").click()
    page.locator(".lock-panel--locked").wait_for()


def open_a_report(page, world):
    page.locator(".checks__actions a[href*='/report/']").first.click()
    page.locator("textarea").wait_for()


def send_the_report(page, world):
    page.locator("textarea").fill("I was not at any counter that day.")
    page.locator("main form.form [type=submit]").click()
    page.locator(".checks").wait_for()


def approve_link(world) -> str:
    """A fresh verification of Asha's at bob's counter, and the approve link its SMS
    carries (the path only: the SMS names KYVS_SITE_URL)."""
    from verification import services

    services.start_verification(
        organisation=world.organisation,
        operator=world.bob,
        full_name="Asha Patel",
        mobile="9876543210",
        purpose="travel",
    )
    body = world.extra["sms_outbox"][-1].body
    link = re.search(r"https?://[^/\s]+(/c/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+)", body)
    world.extra["approve_path"] = link.group(1)
    return world.extra["approve_path"]


def decline_on_the_phone(page, world):
    page.locator("button[value=decline]").click()
    page.wait_for_load_state()


def embed_frame(world) -> str:
    """The operator's frame, in the sweep's language: the frame keeps a language cookie of
    its own (it lives in another site's page), chosen by `?lang=`."""
    return f"/embed/{world.organisation.public_id}/?lang={world.extra['language']}"


def organisation_change(model: str, attr: str):
    return lambda w: f"/admin/providers/{model}/{getattr(w, attr).pk}/change/"


SCREENS = [
    # Anyone
    Screen("sign-in", "anyone", "/accounts/login/"),
    Screen("sign-in, refused", "anyone", None, send_empty_form),
    Screen("password reset", "anyone", "/accounts/password-reset/"),
    Screen("password reset link that does not work", "anyone", "/accounts/password-reset/x/y/"),
    Screen("invitation", "anyone", lambda w: f"/accounts/invitation/{w.invitation}/"),
    Screen("apply", "anyone", "/providers/apply/"),
    Screen("apply, with errors", "anyone", None, send_empty_form),
    Screen("application sent", "anyone", "/providers/apply/done/"),
    Screen("receipt checker", "anyone", "/receipts/verify/"),
    Screen("receipt checker, a valid receipt", "anyone", None, check_the_receipt),
    Screen("receipt checker, a forged receipt", "anyone", None, check_a_forged_receipt),
    Screen("receipt's page", "anyone", receipt_page),
    Screen("receipt's page, a receipt checked", "anyone", None, check_the_receipt),
    Screen("API documentation", "anyone", "/api/docs/"),
    Screen("page not found", "anyone", "/no-such-page/"),
    # The operator, and the customer on the operator's screen
    Screen("operator's form", "operator", "/verify/"),
    Screen("operator's form, with errors", "operator", None, send_empty_form),
    Screen("customer's consent", "operator", "/verify/", start_for_asha),
    Screen("customer's consent, a wrong code", "operator", None, type_wrong_code),
    Screen("result and receipt", "operator", None, type_right_code),
    Screen("result, gone", "operator", None, reload),
    Screen("two-factor enrolment", "operator", "/accounts/two-factor/setup/"),
    # The embed's operator frame (opened at the top here; framed, it looks the same)
    Screen("embed, operator's form", "operator_in_frame", embed_frame),
    Screen("embed, operator's form with errors", "operator_in_frame", None, send_empty_form),
    Screen("embed, customer's consent", "operator_in_frame", embed_frame, start_for_asha),
    Screen("embed, result", "operator_in_frame", None, type_right_code),
    # The citizen's phone, opening the link in the OTP SMS
    Screen("approve on the phone", "phone", approve_link),
    Screen("approve on the phone, declined", "phone", None, decline_on_the_phone),
    Screen("approve link, spent", "phone", lambda w: w.extra["approve_path"]),
    # The citizen, on their own phone
    Screen("front door", "anyone", "/"),
    Screen("privacy notice", "anyone", "/privacy/"),
    Screen("my status, start", "citizen", "/my-status/"),
    Screen("my status, start with errors", "citizen", None, send_empty_form),
    Screen("my status, the code", "citizen", None, start_own_check),
    Screen("my status", "citizen", None, type_own_code),
    Screen("my status, a card made", "citizen", None, make_a_card),
    Screen("a share card's page, as anyone sees it", "anyone", lambda w: w.extra["share_path"]),
    Screen("who checked me", "citizen", "/my-status/history/"),
    Screen("report a check", "citizen", None, open_a_report),
    Screen("who checked me, a report sent", "citizen", None, send_the_report),
    Screen("who checked me, locked", "citizen", "/my-status/history/", lock_my_status),
    # The organisation admin
    Screen("second factor", "org_admin_before_code", "/accounts/two-factor/"),
    Screen("console", "org_admin", "/console/"),
    Screen("console, a change made", "org_admin", "/console/", make_bob_an_admin),
    Screen(
        "deactivate, confirm",
        "org_admin",
        lambda w: f"/console/members/{w.carol.membership.public_id}/deactivate/",
    ),
    Screen("console, an undo offered", "org_admin", None, confirm),
    Screen("invite a colleague", "org_admin", "/console/members/invite/"),
    Screen("invite a colleague, with errors", "org_admin", None, send_empty_form),
    Screen("verification history", "org_admin", "/console/history/"),
    Screen("verification history, bad dates", "org_admin", "/console/history/?date_from=x"),
    Screen("API keys", "org_admin", "/console/api-keys/"),
    Screen("API key created", "org_admin", None, create_an_api_key),
    Screen(
        "revoke, confirm",
        "org_admin",
        lambda w: f"/console/api-keys/{w.extra['booking_key'].public_id}/revoke/",
    ),
    Screen("API keys, an undo offered", "org_admin", None, confirm),
    Screen("two-factor sign-in settings", "org_admin", "/accounts/two-factor/setup/"),
    Screen("backup codes", "org_admin", "/accounts/two-factor/backup-codes/"),
    # The registry admin
    Screen("admin index", "registry_admin", "/admin/"),
    Screen("admin organisations", "registry_admin", "/admin/providers/organisation/"),
    Screen(
        "admin organisation",
        "registry_admin",
        organisation_change("organisation", "organisation"),
    ),
    Screen("admin applications", "registry_admin", "/admin/providers/pendingapplication/"),
    Screen(
        "admin application",
        "registry_admin",
        organisation_change("pendingapplication", "pending"),
    ),
    Screen(
        "admin approve",
        "registry_admin",
        "/admin/providers/pendingapplication/",
        choose_approve_action,
    ),
    Screen("admin authenticator apps", "registry_admin", "/admin/otp_totp/totpdevice/"),
    Screen("admin API keys", "registry_admin", "/admin/providers/apikey/"),
    Screen("admin verifications", "registry_admin", "/admin/verification/verification/"),
    Screen(
        "admin approve, from the application",
        "registry_admin",
        lambda w: f"/admin/providers/pendingapplication/{w.pending.pk}/decide/approve/",
    ),
    Screen("admin reports from citizens", "registry_admin", "/admin/verification/citizenreport/"),
    Screen("admin beneficiaries", "registry_admin", "/admin/verification/beneficiary/"),
    Screen(
        "admin beneficiary",
        "registry_admin",
        lambda w: f"/admin/verification/beneficiary/{w.extra['asha'].pk}/change/",
    ),
]


# --- the sweep --------------------------------------------------------------------------


def _session_cookie(visitor: Visitor, world: World) -> str | None:
    if visitor.user is None:
        return None
    user = visitor.user(world)
    client = SecondFactorClient() if visitor.second_factor_done else _PlainClient()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _PlainClient():
    from django.test import Client

    return Client()


# The innermost elements that reach, or whose text reaches, past the right edge of the
# screen, for the report.
WIDEST_ELEMENTS = """() => {
  const edge = document.documentElement.clientWidth;
  const right = (e) => {
    const box = e.getBoundingClientRect();
    return Math.max(box.right, box.left + e.scrollWidth);
  };
  const past = [...document.body.querySelectorAll("*")].filter((e) => right(e) > edge);
  const innermost = past.filter((e) => !past.some((o) => o !== e && e.contains(o)));
  return innermost.slice(0, 3).map((e) =>
    e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "") +
    " (" + Math.round(right(e)) + " px)"
  );
}"""


# A text in one of these scripts must be drawn with a font of that script (the machine has
# none of its own: only the faces KYVS ships, static/fonts/), or it shows as boxes.
SCRIPTS = {"Gujarati": re.compile("[\u0a80-\u0aff]"), "Devanagari": re.compile("[\u0900-\u097f]")}


def _texts(nodes) -> list[str]:
    """Every text under `nodes` (CDP DOM nodes), in document order."""
    found = []
    for node in nodes:
        if node["nodeType"] == 3:
            found.append(node.get("nodeValue", ""))
        found += _texts(node.get("children", []))
    return found


def _tofu(page) -> list[str]:
    """Elements (and their ::before/::after headings from data-label) whose Gujarati or
    Devanagari text Chromium draws with no font of that script, asked of Chromium itself
    (CSS.getPlatformFontsForNode). Elements not drawn (hidden, a closed list's options)
    use no font and are skipped; a closed list is checked for the option it shows."""
    page.evaluate("document.fonts.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    found = []

    def check(node_id: int, text: str, where: str):
        for script, letters in SCRIPTS.items():
            if not letters.search(text):
                continue
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
            names = [font["familyName"] for font in fonts]
            if names and not any(script in name for name in names):
                found.append(f"{where} {text.strip()[:40]!r} drawn in {', '.join(names)}")

    def walk(node):
        if node["nodeType"] == 1:
            name = node["nodeName"].lower()
            own_text = "".join(
                child.get("nodeValue", "")
                for child in node.get("children", [])
                if child["nodeType"] == 3
            )
            if name == "select":
                # A closed list draws its chosen option's text in the list's own font: the
                # text sits in the list's user-agent shadow tree.
                own_text = "".join(_texts(node.get("shadowRoots", [])))
            check(node["nodeId"], own_text, name)
            attributes = node.get("attributes", [])
            label = dict(zip(attributes[::2], attributes[1::2], strict=False)).get("data-label")
            for pseudo in node.get("pseudoElements", []):
                check(pseudo["nodeId"], label or "", f"{name}::{pseudo.get('pseudoType')}")
        for child in node.get("children", []):
            walk(child)

    walk(cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"])
    cdp.detach()
    return [f"tofu: {where}" for where in found[:5]]


def _faults(results: dict) -> list[str]:
    faults = []
    for violation in results["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = "; ".join(" ".join(n["target"]) for n in violation["nodes"][:3])
            faults.append(
                f"axe {violation['impact']} {violation['id']} ({len(violation['nodes'])}): "
                f"{violation['help']} — {targets}"
            )
    return faults


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_passes_axe_and_fits_the_screen(
    live_server, browser, sms_outbox, language, width
):
    world = make_world(sms_outbox)
    world.extra["language"] = language
    viewport = WIDTHS[width]
    folder = SCREENSHOTS / "axe" / f"{language}-{width}"
    folder.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    pages: dict[str, object] = {}
    contexts = []
    faults: dict[str, list[str]] = {}
    report = []
    try:
        for number, screen in enumerate(SCREENS, start=1):
            page = pages.get(screen.visitor)
            if page is None:
                context = browser.new_context(viewport=viewport, locale="en-GB")
                contexts.append(context)
                cookies = [
                    {
                        "name": settings.LANGUAGE_COOKIE_NAME,
                        "value": language,
                        "url": live_server.url,
                    }
                ]
                session = _session_cookie(VISITORS[screen.visitor], world)
                if session:
                    cookies.append(
                        {
                            "name": VISITORS[screen.visitor].cookie,
                            "value": session,
                            "url": live_server.url,
                        }
                    )
                context.add_cookies(cookies)
                page = pages[screen.visitor] = context.new_page()
                page.set_default_timeout(10_000)
            if screen.path is not None:
                path = screen.path(world) if callable(screen.path) else screen.path
                page.goto(live_server.url + path)
            if screen.steps is not None:
                screen.steps(page, world)
            results = axe.run(page).response
            found = _faults(results) + _tofu(page)
            if viewport is MOBILE:
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > viewport["width"]:
                    found.append(
                        f"{wide} px wide on a {viewport['width']} px screen, past its edge: "
                        + ", ".join(page.evaluate(WIDEST_ELEMENTS))
                    )
            if found:
                faults[f"{screen.name} ({page.url})"] = found
            report.append(
                {
                    "screen": screen.name,
                    "url": page.url,
                    "violations": [
                        {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                        for v in results["violations"]
                    ],
                }
            )
            page.screenshot(path=str(folder / f"{number:02d}.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
        (SCREENSHOTS / "axe" / f"{language}-{width}.json").write_text(
            json.dumps(report, indent=1, ensure_ascii=False)
        )
    assert not faults, "\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(found) for name, found in faults.items()
    )
