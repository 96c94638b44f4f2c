#!/usr/bin/env python
"""Time the account pages' answers for an address that has an account and one that has not.

    python scripts/bench_account_answers.py [--requests 100] [--applications 20]
                                            [--smtp-delay-ms 300]
                                            [--queue database immediate]

Asking for a password reset, inviting a colleague and applying must take as long for an
address that has an account as for one that has not, or the time of the answer says which
it is. Runs the real views through Django's test client on a throwaway test database
(SQLite in memory, or DATABASE_URL's server), the two kinds of address interleaved at
random:

- password reset: with the `smtp` e-mail backend pointed at a local SMTP server that takes
  --smtp-delay-ms to accept each message. With the task queue's database backend
  (production's) the request only enqueues, for either address; with "immediate" (for
  contrast: the job runs inside the request) the known address pays the mail server's delay.
- invitation (an organisation admin inviting an address of another organisation's account,
  or a new one) and application (with the e-mail of an existing account, or a new one):
  with Django's production password hasher, as hashing the applicant's password is the
  slow step of applying.
"""

import argparse
import os
import socketserver
import statistics
import threading
import time

import _bench

_bench.use_test_settings()
# Limits far out of the way: this measures timing, not limits.
for name in ["KYVS_PASSWORD_RESETS_PER_ADDRESS", "KYVS_PASSWORD_RESETS_PER_IP"]:
    os.environ[name] = "1000000"


def slow_smtp_server(delay: float) -> int:
    """A local SMTP server that takes `delay` seconds to accept each message; its port."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 bench ESMTP\r\n")
            in_data = False
            for raw in self.rfile:
                line = raw.rstrip(b"\r\n")
                if in_data:
                    if line == b".":
                        in_data = False
                        time.sleep(delay)  # the mail server's own latency, being hidden
                        self.wfile.write(b"250 queued\r\n")
                    continue
                command = line[:4].upper()
                if command == b"DATA":
                    in_data = True
                    self.wfile.write(b"354 go ahead\r\n")
                elif command == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def report(title: str, timings: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"  {'address':<14} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'mean ms':>8}")
    for kind, values in timings.items():
        print(
            f"  {kind:<14} {len(values):>4} {statistics.median(values):>10.1f} "
            f"{_bench.percentile(values, 95):>8.1f} {statistics.fmean(values):>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="resets, invitations each")
    parser.add_argument("--applications", type=int, default=20, help="applications of each")
    parser.add_argument("--smtp-delay-ms", type=int, default=300)
    parser.add_argument("--queue", nargs="+", default=["database", "immediate"])
    args = parser.parse_args()

    os.environ["KYVS_EMAIL_HOST"] = "127.0.0.1"
    os.environ["KYVS_EMAIL_PORT"] = str(slow_smtp_server(args.smtp_delay_ms / 1000))

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    from tests.conftest import SecondFactorClient
    from tests.factories import give_totp_device, make_member, make_organisation
    from tests.providers.helpers import application

    with _bench.throwaway_test_database():
        # The test environment keeps mail in memory; this measures the real SMTP backend.
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        organisation = make_organisation(name="Bench Travels")
        elsewhere = make_organisation(name="Bench Rail")
        n = args.requests
        for i in range(n):
            known = make_member(elsewhere, f"known{i}@bench.example")
            known.email = known.username
            known.save()
        print(
            f"database {connection.vendor}, cache {settings.CACHES['default']['BACKEND']}, "
            f"mail server latency {args.smtp_delay_ms} ms"
        )
        client = SecondFactorClient()
        for queue in args.queue:
            with override_settings(TASKS={"default": {"BACKEND": settings.TASK_BACKENDS[queue]}}):
                resets = {
                    "has account": [f"known{i}@bench.example" for i in range(n)],
                    "no account": [f"nobody{i}@bench.example" for i in range(n)],
                }

                def reset(kind, address):
                    response = client.post("/accounts/password-reset/", {"email": address})
                    assert response.status_code == 302, response.status_code

                report(f"password reset, KYVS_TASK_BACKEND={queue}", _bench.timed(resets, reset))

        admin = make_member(organisation, "bench-admin", role="admin")
        give_totp_device(admin)
        client.force_login(admin)
        invitations = {
            "has account": [f"known{i}@bench.example" for i in range(n)],
            "no account": [f"new{i}@bench.example" for i in range(n)],
        }

        def invite(kind, address):
            response = client.post(
                "/console/members/invite/", {"email": address, "role": "operator"}
            )
            assert response.status_code == 302, response.status_code

        database_queue = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}
        with override_settings(TASKS=database_queue):
            report("invitation, KYVS_TASK_BACKEND=database", _bench.timed(invitations, invite))

        m = args.applications
        applications = {
            "has account": [("known", i) for i in range(m)],
            "no account": [("new", i) for i in range(m)],
        }
        anonymous = SecondFactorClient()

        def apply(kind, item):
            prefix, i = item
            response = anonymous.post(
                "/providers/apply/",
                application(
                    name=f"Bench Office {prefix} {i}",
                    sms_name=f"Bench Office {prefix} {i}",
                    sector="government",
                    kind="government_office",
                    registration_kind="gov",
                    registration_number=f"GOV-GJ-BENCH{'K' if prefix == 'known' else 'N'}-{i:04d}",
                    email=f"{prefix}{i}@bench.example",
                ),
                REMOTE_ADDR=f"10.0.{i // 200}.{i % 200 + (0 if prefix == 'known' else 50)}",
            )
            assert response.status_code == 302, response.content.decode()[:2000]

        hashers = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
        with override_settings(PASSWORD_HASHERS=hashers, TASKS=database_queue):
            report(
                "application, KYVS_TASK_BACKEND=database, PBKDF2",
                _bench.timed(applications, apply),
            )


if __name__ == "__main__":
    main()
