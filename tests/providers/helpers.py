"""Shared steps for the onboarding tests."""

from django.contrib.auth import get_user_model
from django.core import mail

APPLICATION = {
    "name": "Navrang Cinemas",
    "sms_name": "Navrang Cinemas",
    "kind": "entertainment",
    "sector": "private",
    "registration_kind": "cin",
    "registration_number": "u92130gj2009ptc056789",
    "address": "12 CG Road, Navrangpura, Ahmedabad 380009",
    "indian_state": "GJ",
    "website": "navrang.example",
    "purposes": ["venue_entry"],
    "scopes": ["vaccinations"],
    "reason_vaccinations": "State rules ask us to check the date of the second dose.",
    "reason_demographics": "",
    "contact_name": "Meera Shah",
    "email": "Meera@Navrang.example",
    "mobile": "+91 98250 12345",
    "password1": "kesar-mango-lassi-42",
    "password2": "kesar-mango-lassi-42",
    "accept_terms": "on",
}


def application(**changes) -> dict:
    data = dict(APPLICATION)
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def apply(client, follow=False, **changes):
    return client.post("/providers/apply/", application(**changes), follow=follow)


def links_in(message) -> list[str]:
    return [word for word in message.body.split() if word.startswith("http")]


def last_mail_to(address: str):
    return [m for m in mail.outbox if address in m.to][-1]


def user(username: str):
    return get_user_model().objects.get(username=username)
