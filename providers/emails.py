"""E-mails to organisations, through Django's e-mail backend (the console by default).

Every text comes from a template under templates/providers/email/, in the language active
when it is sent.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string


def _send(template: str, context: dict, to: list[str]) -> None:
    if not to:
        return
    subject = " ".join(
        render_to_string(f"providers/email/{template}_subject.txt", context).split()
    )
    body = render_to_string(f"providers/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def send_application_received(organisation, user) -> None:
    _send(
        "application_received",
        {"organisation": organisation, "user": user},
        organisation.admin_emails(),
    )


def send_decision(decision) -> None:
    organisation = decision.organisation
    _send(
        "decision",
        {"organisation": organisation, "decision": decision},
        organisation.admin_emails(),
    )


def send_invitation(membership, link: str, max_age_hours: int) -> None:
    _send(
        "invitation",
        {
            "membership": membership,
            "organisation": membership.organisation,
            "link": link,
            "hours": max_age_hours,
        },
        [membership.user.email],
    )
