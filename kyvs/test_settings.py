"""Settings for the test suite: the real settings, with test-friendly defaults.

Anything given in the environment (DATABASE_URL, REDIS_URL, ...) still wins, so CI runs
the same suite against PostgreSQL and Redis.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "kyvs-test-suite-key")
os.environ.setdefault("KYVS_SMS_BACKEND", "locmem")
# Run jobs inside the request, so a test sees the SMS as soon as the start returns. Tests of
# the queue itself use the database backend and real workers.
os.environ.setdefault("KYVS_TASK_BACKEND", "immediate")
os.environ.setdefault("KYVS_SECURE_COOKIES", "false")
# Receipts are signed with a key generated on first use into signing-key.pem (git-ignored).
os.environ.setdefault("KYVS_SIGNING_KEY_GENERATE", "true")
# The test client speaks plain HTTP; production redirects it to HTTPS.
os.environ.setdefault("KYVS_SSL_REDIRECT", "false")

from kyvs.settings import *  # noqa: E402, F403

# Fast hashing: the tests create many users; production keeps Django's default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
