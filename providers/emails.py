"""E-mails to organisations, sent by the task queue's workers (kyvs/mail.py).

Every text comes from a template under templates/providers/email/ (or registration/ for the
password reset), in the language of the screen that caused it. Invitation and
password-reset links are credentials: their jobs carry only the account and the site, and
the worker makes the link when it sends, so no queue row ever holds one.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks import task

from kyvs import limits
from kyvs.http import client_ip
from kyvs.mail import queue_email, render_subject, render_text, send_email
from kyvs.text import account_key, folded
from providers.tokens import make_invitation_token

log = logging.getLogger(__name__)


def _render(template: str, context: dict) -> tuple[str, str]:
    """(subject, body) of providers/email/<template>, as plain text (kyvs.mail)."""
    return (
        render_subject(f"providers/email/{template}_subject.txt", context),
        render_text(f"providers/email/{template}.txt", context),
    )


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


def _language_of(user) -> str:
    """The language news about `user`'s account is written in: the one they last signed in
    with (Membership.language), else the site's default (English)."""
    membership = getattr(user, "membership", None)
    return (membership.language if membership else "") or settings.LANGUAGE_CODE


def _owner_of(address: str):
    """The account that uses `address` (providers.models.accounts_using), or None."""
    from providers.models import accounts_using

    users = accounts_using(address).select_related("membership")
    return next((u for u in users if u.username.lower() == address.lower()), users.first())


def _tell_owner(address: str, template: str, context: dict) -> str:
    """Send providers/email/<template> to `address`, in its account's language; nothing if
    no account uses it (any more)."""
    owner = _owner_of(address)
    if owner is None:
        return "nobody"
    with translation.override(_language_of(owner)):
        subject, body = _render(template, {**context, "email": address, "user": owner})
    send_email.call(subject, body, [address])
    return "sent"


def send_application_refused(email: str) -> None:
    """Enqueue the note to the owner of `email` that an application was tried with it."""
    deliver_application_refused.enqueue(email)


@task()
def deliver_application_refused(email: str) -> str:
    """The job: tell the owner of `email` that someone applied with their address, and that
    nothing was created. The applicant's words (the organisation's name, ...) are not
    repeated: nobody may make KYVS carry their text to someone else's inbox."""
    return _tell_owner(email, "application_refused", {})


def send_invitation_refused(email: str, organisation, role: str) -> None:
    """Enqueue the note to the owner of `email` that `organisation` tried to invite them."""
    deliver_invitation_refused.enqueue(email, organisation.pk, role)


@task()
def deliver_invitation_refused(email: str, organisation_pk: int, role: str) -> str:
    """The job: tell the owner of `email` that the organisation tried to invite them as
    `role`, and that their account is unchanged."""
    from providers.models import Membership, Organisation

    organisation = Organisation.objects.filter(pk=organisation_pk).first()
    if organisation is None:
        return "moot"
    return _tell_owner(
        email, "invitation_refused", {"organisation": organisation, "role": Membership.Role(role)}
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's password-reset form, but the request only enqueues: for any address, known
    or not, the same one job (deliver_password_reset), which finds the accounts and makes
    their links in the worker.

    At most KYVS_PASSWORD_RESETS_PER_ADDRESS requests per address typed (kyvs.text.folded)
    and KYVS_PASSWORD_RESETS_PER_IP per client address in a window (kyvs.limits) enqueue
    anything; past them the request enqueues nothing and is answered as every other, so the
    answer says nothing of the address or the limit. A cache that does not answer raises
    CacheUnavailable (a 503 page, kyvs.views.LimitsMiddleware): nothing is sent uncounted."""

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        email = self.cleaned_data["email"]
        try:
            limits.take_all(
                [
                    (limits.PASSWORD_RESETS_PER_IP, client_ip(request) or "unknown"),
                    (limits.PASSWORD_RESETS_PER_ADDRESS, folded(email)),
                ]
            )
        except limits.RateLimited as refusal:
            log.warning("password reset not sent: limit %s reached", refusal.limit.name)
            return
        domain = domain_override or request.get_host()
        deliver_password_reset.enqueue(email, domain, use_https, translation.get_language())


def send_sign_in_alert(account: str, paused_until: datetime) -> None:
    """Enqueue the warning to the owner of the account named `account` (the folded name
    typed, kyvs.text.account_key) that wrong passwords are being typed for it,
    and that browsers new to it cannot sign in to it until `paused_until`. Enqueued whether
    or not such an account exists: the sign-in page does the same work either way."""
    deliver_sign_in_alert.enqueue(account, paused_until.isoformat())


@task()
def deliver_sign_in_alert(account: str, paused_until: str) -> str:
    """The job: e-mail the warning to the account whose folded sign-in name is `account`,
    in the language its owner last signed in with; nothing for a name that has no account,
    or an account without an e-mail address."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__iexact=account, is_active=True)
    users = users.select_related("membership")
    owner = next((u for u in users if account_key(u.username) == account), None)
    if owner is None or not owner.email:
        return "nobody"
    until = timezone.localtime(datetime.fromisoformat(paused_until))
    with translation.override(_language_of(owner)):
        subject, body = _render("sign_in_alert", {"user": owner, "until": until.strftime("%H:%M")})
    send_email.call(subject, body, [owner.email])
    return "sent"


class _PlainTextPasswordResetForm(PasswordResetForm):
    """Django's form, sending its message as plain text (kyvs.mail): Django renders the
    subject and body with the default engine, which would escape them."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        send_email.call(
            render_subject(subject_template_name, context),
            render_text(email_template_name, context),
            [to_email],
        )


@task()
def deliver_password_reset(email: str, domain: str, use_https: bool, language: str) -> int:
    """The job: Django's password-reset e-mail to every active account of `email` (none for
    an address nobody uses). Returns how many went."""
    form = _PlainTextPasswordResetForm({"email": email})
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
