"""E-mails to organisations, sent by the task queue's workers (kyvs/mail.py).

Every text comes from a template under templates/providers/email/ (or registration/ for the
password reset), in the language of the screen that caused it. Invitation and
password-reset links are credentials: their jobs carry only the account and the site, and
the worker makes the link when it sends, so no queue row ever holds one.
"""

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_tasks import task

from kyvs.mail import queue_email, send_email
from providers.tokens import make_invitation_token


def _render(template: str, context: dict) -> tuple[str, str]:
    subject = " ".join(
        render_to_string(f"providers/email/{template}_subject.txt", context).split()
    )
    return subject, render_to_string(f"providers/email/{template}.txt", context)


def send_application_received(organisation, user) -> None:
    subject, body = _render("application_received", {"organisation": organisation, "user": user})
    queue_email(subject, body, organisation.admin_emails())


def send_decision(decision) -> None:
    organisation = decision.organisation
    subject, body = _render("decision", {"organisation": organisation, "decision": decision})
    queue_email(subject, body, organisation.admin_emails())


def send_invitation(membership, site_url: str) -> None:
    """Enqueue the invitation of `membership`'s person; `site_url` is the portal's address as
    the inviting admin reached it (scheme and host)."""
    deliver_invitation.enqueue(membership.pk, site_url, translation.get_language())


@task()
def deliver_invitation(membership_pk: int, site_url: str, language: str) -> str:
    """The job: make the invitation link (providers.tokens) and send it. A membership gone
    meanwhile, or a person who has chosen a password already, gets nothing."""
    from providers.models import Membership

    membership = (
        Membership.objects.select_related("user", "organisation").filter(pk=membership_pk).first()
    )
    if membership is None or not membership.is_invited:
        return "moot"
    link = site_url.rstrip("/") + reverse(
        "invitation", args=[make_invitation_token(membership.user)]
    )
    with translation.override(language):
        subject, body = _render(
            "invitation",
            {
                "membership": membership,
                "organisation": membership.organisation,
                "link": link,
                "hours": settings.KYVS_INVITE_MAX_AGE_HOURS,
            },
        )
    send_email.call(subject, body, [membership.user.email])
    return "sent"


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's password-reset form, but the request only enqueues: for any address, known
    or not, the same one job (deliver_password_reset), which finds the accounts and makes
    their links in the worker."""

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        domain = domain_override or request.get_host()
        deliver_password_reset.enqueue(
            self.cleaned_data["email"], domain, use_https, translation.get_language()
        )


@task()
def deliver_password_reset(email: str, domain: str, use_https: bool, language: str) -> int:
    """The job: Django's password-reset e-mail to every active account of `email` (none for
    an address nobody uses). Returns how many went."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(email))
    with translation.override(language):
        form.save(
            domain_override=domain,
            use_https=use_https,
            subject_template_name="registration/password_reset_subject.txt",
            email_template_name="registration/password_reset_email.txt",
            from_email=settings.DEFAULT_FROM_EMAIL,
        )
    return len(users)
