"""Audit log lines for sign-ins and the registry admin's decisions.

A line names an account by its id, never by its username; a failed sign-in, whose
username may be a typo of someone's mobile or name, is named by a keyed hash of it, so
repeated failures against one account can be grouped without the log holding the name.
"""

import json
import logging

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.crypto import salted_hmac

from kyvs.http import client_ip

log = logging.getLogger("kyvs.audit")

_ACTIONS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


def _ip(request) -> str | None:
    return client_ip(request) if request is not None else None


def username_digest(username: str | None) -> str:
    """A short keyed hash of a username, or "unknown"; the same name gives the same digest."""
    if not username:
        return "unknown"
    return salted_hmac("kyvs.audit.username", username.casefold()).hexdigest()[:16]


@receiver(user_logged_in, dispatch_uid="kyvs.audit.login")
def log_login(sender, request, user, **kwargs) -> None:
    log.info(
        "sign-in succeeded",
        extra={"event": "login", "user_id": user.pk, "ip": _ip(request)},
    )


@receiver(user_login_failed, dispatch_uid="kyvs.audit.login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs) -> None:
    log.warning(
        "sign-in failed",
        extra={
            "event": "login_failed",
            "account": username_digest(credentials.get("username")),
            "ip": _ip(request),
        },
    )


@receiver(user_logged_out, dispatch_uid="kyvs.audit.logout")
def log_logout(sender, request, user, **kwargs) -> None:
    log.info(
        "signed out",
        extra={"event": "logout", "user_id": getattr(user, "pk", None), "ip": _ip(request)},
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="kyvs.audit.admin_action")
def log_admin_action(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    """The admin writes a LogEntry for each change; the log gets a line too."""
    if created:
        log_admin_entry(instance)


def log_admin_entry(instance: LogEntry) -> None:
    """One audit line for one admin LogEntry, with the changed fields' names but not the
    object's text (which may be a person's name)."""
    log.info(
        "admin %s",
        _ACTIONS.get(instance.action_flag, "action"),
        extra={
            "event": "admin_action",
            "user_id": instance.user_id,
            "action": _ACTIONS.get(instance.action_flag, str(instance.action_flag)),
            "object_type": instance.content_type.app_label + "." + instance.content_type.model
            if instance.content_type_id
            else None,
            "object_id": instance.object_id,
            "fields": _changed_fields(instance),
        },
    )


def _changed_fields(entry: LogEntry) -> list[str]:
    try:
        changes = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    fields: list[str] = []
    for change in changes if isinstance(changes, list) else []:
        for detail in change.values() if isinstance(change, dict) else []:
            if isinstance(detail, dict):
                fields.extend(str(f) for f in detail.get("fields", []))
    return fields


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin under which every change, bulk ones included, leaves one LogEntry and one
    audit line per object. Django writes the entries of a bulk deletion with bulk_create,
    which sends no signal: they are logged here one by one. Bulk actions of our own record
    each object with `record` (ModelAdmin.log_change, whose entry is saved singly)."""

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        if isinstance(entries, list) and len(entries) > 1:
            for entry in entries:
                log_admin_entry(entry)
        return entries

    def record(self, request, obj, message: str) -> None:
        """Record one object changed by an action, with what was done to it."""
        self.log_change(request, obj, message)
