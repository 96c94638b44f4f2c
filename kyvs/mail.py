"""E-mail through the task queue: the request enqueues, a worker sends. So a slow or absent
mail server never slows a page, and an answer takes as long whether or not a message goes.

A job holds the message as it will be sent. Messages that carry a secret (an invitation or a
password-reset link) are not written here: their job holds only who and where, and the
worker makes the secret as it sends (providers/emails.py).

Messages are plain text, rendered by the template engine named "text" (kyvs/settings.py),
which escapes nothing: an organisation called "A & B" reads "A & B" in the subject and the
body, not "A &amp; B". An HTML part, if one is ever added, must be rendered by the default
engine, which escapes.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template import engines
from django_tasks import task


def render_text(template_name: str, context: dict) -> str:
    """`template_name` (under templates/) rendered as plain text, nothing escaped."""
    return engines["text"].get_template(template_name).render(context)


def render_subject(template_name: str, context: dict) -> str:
    """A subject line: `template_name` rendered as plain text, on one line (a line break
    would end the header)."""
    return " ".join(render_text(template_name, context).split())


@task()
def send_email(subject: str, body: str, to: list[str]) -> int:
    """The job: send one plain-text message from DEFAULT_FROM_EMAIL. Returns how many went."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def queue_email(subject: str, body: str, to: list[str]) -> None:
    """Enqueue `send_email` (nothing when `to` is empty)."""
    if to:
        send_email.enqueue(subject, body, list(to))
