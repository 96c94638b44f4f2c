"""E-mail through the task queue: the request enqueues, a worker sends. So a slow or absent
mail server never slows a page, and an answer takes as long whether or not a message goes.

A job holds the message as it will be sent. Messages that carry a secret (an invitation or a
password-reset link) are not written here: their job holds only who and where, and the
worker makes the secret as it sends (providers/emails.py).
"""

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task


@task()
def send_email(subject: str, body: str, to: list[str]) -> int:
    """The job: send one plain-text message from DEFAULT_FROM_EMAIL. Returns how many went."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def queue_email(subject: str, body: str, to: list[str]) -> None:
    """Enqueue `send_email` (nothing when `to` is empty)."""
    if to:
        send_email.enqueue(subject, body, list(to))
