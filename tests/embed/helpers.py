"""Shared steps for the embed tests: a registered origin, an embed session through the
API, and a frame (a test client) that opens it."""

import json

from django.test import Client, override_settings

from providers.models import ApiKey

ORIGIN = "https://booking.sahyatri.example"
SESSIONS = "/api/v3/embed/sessions"


def register(organisation, *origins: str, loopback: bool = False):
    """Save `origins` as the organisation's, as its admin would (loopback http with
    `loopback`, as in DEBUG)."""
    with override_settings(DEBUG=loopback):
        return organisation.set_embed_origins(list(origins))


def issue_key(organisation) -> str:
    return ApiKey.issue(organisation, "Booking system")[1]


def create_session(key: str, client: Client | None = None, **body):
    body.setdefault("origin", ORIGIN)
    body.setdefault("purpose", "travel")
    return (client or Client()).post(
        SESSIONS, json.dumps(body), content_type="application/json", headers={"X-Api-Key": key}
    )


def session_status(key: str, session_id: str, client: Client | None = None):
    return (client or Client()).get(f"{SESSIONS}/{session_id}", headers={"X-Api-Key": key})


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def csp_of(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:]
        for part in (p.strip() for p in header.split(";"))
        if part
    }


def in_frame(client: Client) -> Client:
    """`client`, signed in with force_login or login, signed in the same inside a frame:
    the embed reads its own session cookie (kyvs/framing.py), never the portal's."""
    client.cookies["kyvs_embed_session"] = client.cookies["sessionid"].value
    return client
