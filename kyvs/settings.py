"""Settings for KYVS, read from the environment.

Every knob is listed, with its default, in the README's configuration table. A value
that cannot be read stops start-up with a message that names the variable.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def envint(name: str, default: str, minimum: int = 0) -> int:
    raw = os.environ.get(name, default).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def envbackend(name: str, default: str, aliases: dict[str, str]) -> str:
    """The dotted path of a backend class: one of `aliases` by its short name, or a path."""
    value = os.environ.get(name, default).strip()
    if value not in aliases and "." not in value:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(aliases)} or a dotted path, not {value!r}."
        )
    return aliases.get(value, value)


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG", "false")

SECRET_KEY = envstr("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set (it keys OTP hashes and sessions); "
            "set DJANGO_DEBUG=true to run with a development key."
        )
    SECRET_KEY = "development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "kyvs",
    "admin_i18n",
    "providers",
    "verification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with frame-ancestors per response for the embeddable pages.
    "kyvs.framing.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Under /embed/: cookies of their own that work inside another site's frame.
    "kyvs.framing.EmbedCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Ends a session whose account's role changed since it signed in (before anything asks
    # that session for a second factor).
    "providers.middleware.PrivilegeChangeMiddleware",
    "providers.middleware.TwoFactorMiddleware",
    "providers.middleware.OperatorIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Answers a view's rate-limit refusal (kyvs.limits) with a 429 or 503 page.
    "kyvs.views.LimitsMiddleware",
]

ROOT_URLCONF = "kyvs.urls"
WSGI_APPLICATION = "kyvs.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    # Plain text (e-mail subjects and bodies, kyvs/mail.py): the same templates folder, with
    # nothing HTML-escaped, so "A & B" stays "A & B". Asked for by name only (engines["text"]):
    # every page is found by the engine above, which escapes.
    {
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"autoescape": False},
    },
]


# Opening a connection per request cut throughput 2.5-fold on a light endpoint here
# (scripts/bench_throughput.py, docs/benchmarks.md), so connections are kept
# for KYVS_DB_CONN_MAX_AGE seconds and health-checked before reuse.
def envdatabase(name: str, default: str) -> dict:
    return database_from_url(name, envstr(name, default))


def database_from_url(name: str, raw: str, **options) -> dict:
    """A DATABASES entry for the URL `raw`, read from the variable `name`."""
    try:
        return dj_database_url.parse(
            raw,
            conn_max_age=envint("KYVS_DB_CONN_MAX_AGE", "600"),
            conn_health_checks=True,
            **options,
        )
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is not a database URL we can use: {error}") from None


DATABASES = {"default": envdatabase("DATABASE_URL", f"sqlite:///{BASE_DIR / 'kyvs.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server and its queue worker share one SQLite file: readers must not
    # block the writer (WAL), and a write waits for the other's instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replicas of that database, comma-separated URLs: registry reads go to them through
# kyvs/db_router.py (its docstring has the rule). Each mirrors "default" for Django's test
# runner; pytest-django sets up only the aliases a test declares, so the suite runs
# without replicas and tests/test_replica.py talks to a real one from a process of its own.
KYVS_DATABASE_REPLICAS = []
for _number, _url in enumerate(envlist("DATABASE_REPLICA_URLS", ""), start=1):
    _alias = f"replica_{_number}"
    DATABASES[_alias] = database_from_url(
        "DATABASE_REPLICA_URLS", _url, test_options={"MIRROR": "default"}
    )
    # A replica that is down is given up within 2 s, and the primary answers instead
    # (verification/services.py, _read_registry); `?connect_timeout=N` in its URL says otherwise.
    DATABASES[_alias].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    KYVS_DATABASE_REPLICAS.append(_alias)
if KYVS_DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["kyvs.db_router.ReplicaRouter"]

REDIS_URL = envstr("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
# With KYVS_REDIS_CLUSTER, REDIS_URL lists seed nodes of a Redis Cluster, comma-separated
# (kyvs/redis_cluster.py); a cluster has only database 0 and speaks TCP only.
KYVS_REDIS_CLUSTER = envbool("KYVS_REDIS_CLUSTER", "false")
if KYVS_REDIS_CLUSTER:
    for _seed in REDIS_URL.split(","):
        _seed = _seed.strip()
        if not _seed.startswith(("redis://", "rediss://")) or _seed.rstrip("/").count("/") > 2:
            raise ImproperlyConfigured(
                "With KYVS_REDIS_CLUSTER=true, REDIS_URL must list the cluster's nodes as "
                f"redis://host:port or rediss://host:port, comma-separated, not {_seed!r}."
            )
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kyvs",
            # A Redis that does not answer must fail a request fast, not hang it.
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    if KYVS_REDIS_CLUSTER:
        CACHES["default"]["OPTIONS"]["CLIENT_CLASS"] = "kyvs.redis_cluster.ClusterClient"
else:
    # The development and test default only: one process, where its counters are exact.
    # Production sets REDIS_URL, so that the limits hold across app servers.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Pieces of pages drawn the same for everyone who reads them in one language (an empty form:
# docs/performance.md), kept in each process's own memory: they change only with a deploy,
# which starts new processes.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "kyvs-fragments",
    "OPTIONS": {"MAX_ENTRIES": 5000},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# A finished sign-in leads each person to their own start: the console, the admin or the
# form (providers.views.accounts.signed_in_home).
LOGIN_REDIRECT_URL = "signed_in_home"
# Django's ModelBackend, reading the account with its membership, organisation and
# second-factor devices in one query on each request (providers/auth.py).
AUTHENTICATION_BACKENDS = ["providers.auth.MemberBackend"]
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# Each language is named in its own script in the language picker.
LANGUAGES = [("en", "English"), ("gu", "ગુજરાતી"), ("hi", "हिन्दी")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Serve static files from the app folders in development, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("KYVS_SECURE_COOKIES", "false" if DEBUG else "true")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True

# Hardening: with DEBUG off these defaults pass `manage.py check --deploy` with no warning
# (tests/test_deploy_checks.py keeps it so).
SECURE_SSL_REDIRECT = envbool("KYVS_SSL_REDIRECT", "false" if DEBUG else "true")
# A load balancer probes the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("KYVS_HSTS_SECONDS", "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("KYVS_HSTS_INCLUDE_SUBDOMAINS", "true")
SECURE_HSTS_PRELOAD = envbool("KYVS_HSTS_PRELOAD", "true")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True


def envheader(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto=https` as Django's SECURE_PROXY_SSL_HEADER, or None if unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, sep, value = raw.partition("=")
    if not sep or not header.strip() or not value.strip():
        raise ImproperlyConfigured(f"{name} must look like X-Forwarded-Proto=https, not {raw!r}.")
    return "HTTP_" + header.strip().upper().replace("-", "_"), value.strip()


# Only behind a proxy that sets this header itself (and drops any the client sent).
SECURE_PROXY_SSL_HEADER = envheader("KYVS_PROXY_SSL_HEADER")

# Framing is refused everywhere, except the embeddable pages under /embed/, each response
# of which names the origins that may frame it (kyvs/framing.py: allow_framing).
X_FRAME_OPTIONS = "DENY"

# No inline script or style anywhere: templates load static/css and static/js only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# SMS: "console", "file", "locmem", or the dotted path of a backend class.
SMS_BACKENDS = {
    "console": "verification.sms.ConsoleBackend",
    "file": "verification.sms.FileBackend",
    "locmem": "verification.sms.LocmemBackend",
    "http": "verification.sms.HttpBackend",
}
KYVS_SMS_BACKEND = envbackend("KYVS_SMS_BACKEND", "console", SMS_BACKENDS)
KYVS_SMS_FILE = envstr("KYVS_SMS_FILE", str(BASE_DIR / "sms.jsonl"))
# The "http" backend: a JSON POST to the gateway, with the DLT ids Indian operators require.
KYVS_SMS_HTTP_URL = envstr("KYVS_SMS_HTTP_URL", "")
KYVS_SMS_HTTP_TOKEN = envstr("KYVS_SMS_HTTP_TOKEN", "")
KYVS_SMS_HTTP_TIMEOUT_SECONDS = envint("KYVS_SMS_HTTP_TIMEOUT_SECONDS", "5", minimum=1)
KYVS_SMS_SENDER_ID = envstr("KYVS_SMS_SENDER_ID", "KYVSIN")
KYVS_SMS_DLT_TEMPLATE_ID = envstr("KYVS_SMS_DLT_TEMPLATE_ID", "")
KYVS_SMS_DLT_ENTITY_ID = envstr("KYVS_SMS_DLT_ENTITY_ID", "")
if KYVS_SMS_BACKEND == "verification.sms.HttpBackend" and not KYVS_SMS_HTTP_URL:
    raise ImproperlyConfigured("KYVS_SMS_HTTP_URL must be set when KYVS_SMS_BACKEND is http.")
# The task queue (django-tasks, with its database backend): OTP SMS and e-mails are sent by
# worker processes (`manage.py run_worker`), never by the request that asks for them.
# "database": jobs are rows of this database, written in the same transaction as the
# verification they belong to. "immediate": a job runs inside the request that enqueues it
# (tests and scripts only: a slow gateway then slows the page, and a match is slower than a
# no-match).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
KYVS_TASK_BACKEND = envstr("KYVS_TASK_BACKEND", "database")
if KYVS_TASK_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"KYVS_TASK_BACKEND must be database or immediate, not {KYVS_TASK_BACKEND!r}."
    )
TASKS = {"default": {"BACKEND": TASK_BACKENDS[KYVS_TASK_BACKEND]}}
# A job left running this long is taken to have lost its worker (killed, machine gone):
# another worker voids the code it may have made and sends a new one (or gives up).
KYVS_SMS_DELIVERY_LEASE_SECONDS = envint("KYVS_SMS_DELIVERY_LEASE_SECONDS", "60", minimum=5)
# An SMS the gateway refused with 5xx or 429, or did not answer, is tried again after 1, 2,
# 4, 8... seconds, while the code asked for would still be valid, at most this many times.
KYVS_SMS_MAX_ATTEMPTS = envint("KYVS_SMS_MAX_ATTEMPTS", "6", minimum=1)
# /healthz answers 503 when the oldest job waiting to run has waited longer than this.
KYVS_QUEUE_MAX_WAIT_SECONDS = envint("KYVS_QUEUE_MAX_WAIT_SECONDS", "60", minimum=1)

# The OTP policy of DESIGN.md.
KYVS_OTP_TTL_SECONDS = envint("KYVS_OTP_TTL_SECONDS", "180", minimum=30)
KYVS_OTP_MAX_ATTEMPTS = envint("KYVS_OTP_MAX_ATTEMPTS", "5", minimum=1)
KYVS_OTP_RESEND_AFTER_SECONDS = envint("KYVS_OTP_RESEND_AFTER_SECONDS", "30")
KYVS_OTP_MAX_RESENDS = envint("KYVS_OTP_MAX_RESENDS", "2")

# The abuse limits of DESIGN.md, counted in the cache by kyvs/limits.py (which names them).
# OTPs sent to one mobile (starts and resends) across all organisations:
KYVS_OTPS_PER_MOBILE_PER_HOUR = envint("KYVS_OTPS_PER_MOBILE_PER_HOUR", "5", minimum=1)
KYVS_OTPS_PER_MOBILE_PER_DAY = envint("KYVS_OTPS_PER_MOBILE_PER_DAY", "10", minimum=1)
# Starts by one operator, or one API key, per window:
KYVS_STARTS_PER_ACTOR = envint("KYVS_STARTS_PER_ACTOR", "30", minimum=1)
KYVS_STARTS_WINDOW_SECONDS = envint("KYVS_STARTS_WINDOW_SECONDS", "600", minimum=1)
# "My status" checks started from one client address per hour (the page is public):
KYVS_OWN_CHECKS_PER_ADDRESS = envint("KYVS_OWN_CHECKS_PER_ADDRESS", "20", minimum=1)
# Failed sign-ins per window: from browsers without a device cookie for the account, per
# account name and per client IP; from a browser with one, per device cookie
# (providers/device_cookies.py), which a successful sign-in gives for this many days.
KYVS_LOGIN_FAILURES_PER_ACCOUNT = envint("KYVS_LOGIN_FAILURES_PER_ACCOUNT", "5", minimum=1)
KYVS_LOGIN_FAILURES_PER_IP = envint("KYVS_LOGIN_FAILURES_PER_IP", "20", minimum=1)
KYVS_LOGIN_FAILURES_PER_DEVICE = envint("KYVS_LOGIN_FAILURES_PER_DEVICE", "5", minimum=1)
KYVS_LOGIN_WINDOW_SECONDS = envint("KYVS_LOGIN_WINDOW_SECONDS", "900", minimum=1)
KYVS_DEVICE_COOKIE_DAYS = envint("KYVS_DEVICE_COOKIE_DAYS", "365", minimum=1)
KYVS_DEVICE_COOKIE_NAME = "kyvs_device"
# Password-reset e-mails asked for per address typed and per client IP, per window (sliding):
KYVS_PASSWORD_RESETS_PER_ADDRESS = envint("KYVS_PASSWORD_RESETS_PER_ADDRESS", "5", minimum=1)
KYVS_PASSWORD_RESETS_PER_IP = envint("KYVS_PASSWORD_RESETS_PER_IP", "20", minimum=1)
KYVS_PASSWORD_RESETS_WINDOW_SECONDS = envint(
    "KYVS_PASSWORD_RESETS_WINDOW_SECONDS", "3600", minimum=1
)
# Behind a reverse proxy: the header it writes the client's address into (e.g.
# X-Forwarded-For; the right-most address is used). Empty: the connection's address.
KYVS_TRUSTED_PROXY_HEADER = envstr("KYVS_TRUSTED_PROXY_HEADER", "")

# How long an unshown result waits for the operator's screen, and how long a shown result
# stays on the shared screen before it clears itself.
KYVS_RESULT_PICKUP_SECONDS = 300
KYVS_RESULT_DISPLAY_SECONDS = envint("KYVS_RESULT_DISPLAY_SECONDS", "120", minimum=10)

# E-mail to organisations (application received, decisions, invitations, password reset).
# "console" prints them; "smtp" sends through EMAIL_HOST etc.; or a dotted backend path.
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_BACKEND = envbackend("KYVS_EMAIL_BACKEND", "console", EMAIL_BACKENDS)
EMAIL_HOST = envstr("KYVS_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("KYVS_EMAIL_PORT", "25", minimum=1)
EMAIL_HOST_USER = envstr("KYVS_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("KYVS_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("KYVS_EMAIL_USE_TLS", "false")
DEFAULT_FROM_EMAIL = envstr("KYVS_DEFAULT_FROM_EMAIL", "KYVS <no-reply@kyvs.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Accounts: operators are signed out after this long without a request; invitation links
# work once and for this many hours; password-reset links for PASSWORD_RESET_TIMEOUT.
KYVS_OPERATOR_IDLE_MINUTES = envint("KYVS_OPERATOR_IDLE_MINUTES", "30", minimum=1)
KYVS_INVITE_MAX_AGE_HOURS = envint("KYVS_INVITE_MAX_AGE_HOURS", "72", minimum=1)
PASSWORD_RESET_TIMEOUT = envint("KYVS_PASSWORD_RESET_MINUTES", "60", minimum=5) * 60

# Signed receipts (verification/receipts.py): a PEM file or a directory of them; the newest
# private key signs, and every key in it stays published at /.well-known/jwks.json. With
# KYVS_SIGNING_KEY_GENERATE (on in development) a missing file is created with a new key.
KYVS_SIGNING_KEY_FILE = envstr("KYVS_SIGNING_KEY_FILE", str(BASE_DIR / "signing-key.pem"))
KYVS_SIGNING_KEY_GENERATE = envbool("KYVS_SIGNING_KEY_GENERATE", "true" if DEBUG else "false")
if not KYVS_SIGNING_KEY_GENERATE and not Path(KYVS_SIGNING_KEY_FILE).exists():
    raise ImproperlyConfigured(
        f"KYVS_SIGNING_KEY_FILE {KYVS_SIGNING_KEY_FILE!r} does not exist; create a key with "
        "`openssl genpkey -algorithm ed25519 -out FILE`, or set DJANGO_DEBUG=true."
    )
KYVS_RECEIPT_ISSUER = envstr("KYVS_RECEIPT_ISSUER", "KYVS")
KYVS_RECEIPT_VALID_DAYS = envint("KYVS_RECEIPT_VALID_DAYS", "365", minimum=1)
# How long the API's status token (from confirmOTP) and the result behind it live.
KYVS_API_TOKEN_TTL_SECONDS = envint("KYVS_API_TOKEN_TTL_SECONDS", "300", minimum=30)

# Logs: one JSON object per line in production, plain text for a developer's terminal.
# Every handler masks mobiles, codes, tokens and API keys (kyvs/logging.py) as a second
# line of defence; the code itself never logs them.
KYVS_LOG_FORMAT = envstr("KYVS_LOG_FORMAT", "text" if DEBUG else "json")
if KYVS_LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"KYVS_LOG_FORMAT must be json or text, not {KYVS_LOG_FORMAT!r}.")
KYVS_LOG_LEVEL = envstr("KYVS_LOG_LEVEL", "INFO").upper()
if KYVS_LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"KYVS_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {KYVS_LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "kyvs.logging.RedactingFilter"}},
    "formatters": {
        "json": {"()": "kyvs.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": KYVS_LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": KYVS_LOG_LEVEL},
}

# After each verification that shared something, one SMS to the citizen: who, why, when,
# what was shared, and "Not you? Report it".
KYVS_RECEIPT_SMS = envbool("KYVS_RECEIPT_SMS", "true")
# The portal's public address, for the links in SMS (they leave the request behind).
KYVS_SITE_URL = envstr("KYVS_SITE_URL", "http://localhost:8000").rstrip("/")
# The privacy notice (/privacy/), as India's Digital Personal Data Protection Act 2023 asks:
# who runs this deployment (the data fiduciary) and its grievance officer.
KYVS_DATA_FIDUCIARY_NAME = envstr("KYVS_DATA_FIDUCIARY_NAME", "")
KYVS_GRIEVANCE_OFFICER_NAME = envstr("KYVS_GRIEVANCE_OFFICER_NAME", "")
KYVS_GRIEVANCE_OFFICER_EMAIL = envstr("KYVS_GRIEVANCE_OFFICER_EMAIL", "")
KYVS_GRIEVANCE_OFFICER_PHONE = envstr("KYVS_GRIEVANCE_OFFICER_PHONE", "")
# The citizen's own side ("My status"): how long the signed-in state lasts without a
# request, and how long a share card's link lives.
KYVS_CITIZEN_IDLE_MINUTES = envint("KYVS_CITIZEN_IDLE_MINUTES", "10", minimum=1)
KYVS_SHARE_VALID_DAYS = envint("KYVS_SHARE_VALID_DAYS", "90", minimum=1)

# Verifications older than this are anonymised by `manage.py prune_verifications`.
KYVS_RETENTION_DAYS = envint("KYVS_RETENTION_DAYS", "180", minimum=1)
