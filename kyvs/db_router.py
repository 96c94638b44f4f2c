"""Registry reads on PostgreSQL read replicas (DATABASE_REPLICA_URLS).

The rule:

- Reads of the registry (verification's Vaccine, Beneficiary and Dose) go to a replica,
  unless the primary connection is inside a transaction: there they stay on the primary,
  so that a transaction reads its own writes (the registry import reads back the rows it
  has just inserted) and one consistent snapshot next to the rows it locks.
- Everything else, reads and writes alike, is on the primary ("default"): verifications,
  organisations, API keys, users, sessions, two-factor devices, the admin's log. Those are
  read right after they are written (a start, then its consent page; a sign-in, then the
  next page), and a replica's lag would show a state that has already moved on.
- Every write goes to the primary, and migrations run there only; a replica is a copy.

A replica applies the primary's WAL a little later (milliseconds on a healthy network),
so a registry import becomes visible on the replicas after that lag; nothing else waits
on it. Related rows are read where the row they hang on came from (a beneficiary's doses
from the replica that returned the beneficiary), so one lookup sees one state.

Settings: KYVS_DATABASE_REPLICAS, the aliases of the replicas in DATABASES (settings.py
makes them from DATABASE_REPLICA_URLS: "replica_1", "replica_2", ...). With none, this
router is not installed and everything stays on the primary.
"""

import random

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REGISTRY_MODELS = {"verification.vaccine", "verification.beneficiary", "verification.dose"}


class ReplicaRouter:
    """A Django database router (https://docs.djangoproject.com/en/5.2/topics/db/multi-db/)
    applying the rule above. Returns DATABASES aliases."""

    def db_for_read(self, model, **hints) -> str:
        replicas = settings.KYVS_DATABASE_REPLICAS
        if not replicas or model._meta.label_lower not in REGISTRY_MODELS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        instance = hints.get("instance")
        if instance is not None and instance._state.db in replicas:
            return instance._state.db
        return random.choice(replicas)

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        """Rows read from a replica are the primary's rows: a verification may point at a
        beneficiary that came from one."""
        same_data = {DEFAULT_DB_ALIAS, *settings.KYVS_DATABASE_REPLICAS}
        return obj1._state.db in same_data and obj2._state.db in same_data

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
