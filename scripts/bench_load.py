#!/usr/bin/env python
"""The portal under load: every page and API call of a verification, driven by wrk against
gunicorn, PostgreSQL and Redis, each measured as a ratio to a constant Django view served by
the same processes in the same run.

    python scripts/bench_load.py                  # 100,000 beneficiaries, 10 s an endpoint
    python scripts/bench_load.py --large          # 1,000,000 beneficiaries
    python scripts/bench_load.py --smoke          # 10,000, 2 s an endpoint, nothing written
        [--seconds 10] [--rounds 1] [--connections 16] [--threads 2] [--table latest]
        [--max-requests N] [--max-other-work 0.10] [--attempts 3] [--no-write]
        [--keep-folder] [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--database-name kyvs_loadbench] [--redis-url redis://127.0.0.1:6379/7]

What it starts, all on loopback and all stopped or dropped at the end:

- the database kyvs_loadbench (--database-name) on the server of --database-url (the
  database that URL names is only connected to), migrated, under an advisory lock that
  keeps a second run on the same name out; the Redis database of --redis-url (never db 0),
  whose kyvs keys are deleted before and after;
- the registry: a synthetic export of --beneficiaries people (verification/sample_registry.py,
  the importer's test shape: 0 to 3 doses each, every tenth name in Gujarati), loaded by
  `manage.py import_registry`, then ANALYZEd;
- two approved organisations made by `manage.py create_provider`, each with an operator
  and an API key (made by ApiKey.issue, as `create_api_key` makes it): "Bench Travels"
  makes the starts, "Bench Hotels" holds the prepared verifications below, so that the
  starts' daily-quota count is of their own starts only;
- gunicorn with the repository's gunicorn.conf.py (its timeouts, max-requests with
  jitter, access log), two sync workers (WEB_CONCURRENCY=2), production settings:
  kyvs/settings.py with DEBUG off, except for what a plain-HTTP loopback run needs
  (DJANGO_ALLOWED_HOSTS=127.0.0.1, KYVS_SSL_REDIRECT=false, KYVS_SECURE_COOKIES=false,
  a generated secret key and signing key, STATIC_ROOT in a temporary folder filled by
  collectstatic) and a URLconf that adds one view to kyvs.urls: /__bench__/constant,
  the baseline, which answers "ok" through the whole middleware stack. That URLconf and
  the settings module naming it live in the temporary folder only.

Raised for the run, and said so in the output: KYVS_STARTS_PER_ACTOR (30 starts per
operator or API key per 10 minutes) and the organisations' daily quota (create_provider
--daily-quota), both to 10^9, or every start past the 30th would be refused. The per-mobile
limits stay as they are: each start uses a mobile of its own.

No task-queue worker runs: a start enqueues its SMS job (a row in the queue's table, in the
start's transaction) and answers, as in production; the jobs wait. The codes that confirms
need are made beforehand instead, with the model's own steps, as the worker would
(Verification.request_code then issue_code, which returns the code and keeps its keyed
hash; marked sent). Between runs, in this process, with the same settings:

- operator sessions: one real sign-in through the login form per organisation; its session
  is copied under new random keys (as if signed in on many screens), so that concurrent
  requests do not all rewrite one session row;
- confirm (web, API): one pending verification with a known code per request, and for the
  web one session per request (a confirm leaves the result in its session);
- result: one session per request holding one result, put there by the real
  services.confirm_verification and verification.handoff.ResultHandOff (what the confirm
  view does), for a prepared verification each;
- status: tokens from real confirmOTP calls over HTTP, polled again and again (status may
  be fetched repeatedly while its token lives).

Each endpoint is probed once with one prepared item before wrk starts (the run stops if the
probe's status is wrong), then driven by `wrk -t2 -c16 -d10s` with a Lua script written
into the temporary folder. The Lua script checks every response's status against the one
expected; a different status and wrk's socket errors (connect, read, write, timeout)
count as errors (requests made after the prepared items ran out answer unexpectedly, and
are counted apart to say why). The share of the machine's CPU time that other work took
during each run is measured (OtherWork); a run with more than --max-other-work of it is
made again, up to --attempts times.

It prints a table of req/s, p50, p99, errors, the ratio to the baseline, the target and
whether it is met (issue 13's targets: ratio, p99 at most 3 x p50, no errors), the machine
(CPU, cores, memory, software versions, load average at the start) and each run's
figures, and writes the same into docs/performance.md between the markers of --table
(replaced on each run; --smoke writes nothing). Exits 1 if any request erred, whatever the
targets.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import re
import runpy
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote_plus

import _bench

DOC = _bench.ROOT / "docs" / "performance.md"
RAISED = 10**9
PURPOSE = "travel"
SESSION_POOL = 64  # operator sessions cycled by the pages that are not one-per-request
SCREEN_POOL = 64  # pending verifications cycled by the customer's screen
STATUS_POOL = 32  # tokens cycled by the status call

# The synthetic registry's people (verification/sample_registry.py): person p is named
# "Person Number p" (every tenth "ભાવના Person p") with mobile 9 followed by p in 9 digits.
GUJARATI_NAME = "ભાવના Person "


@dataclass
class Endpoint:
    """One line of the table: a request, the status every response must have, and the
    ratio to the baseline it must reach (None for the baseline itself)."""

    key: str
    label: str
    expected: int
    target: float | None


ENDPOINTS = [
    Endpoint("baseline", "constant view (baseline), `GET /__bench__/constant`", 200, None),
    Endpoint("form", "operator's form, `GET /verify/`", 200, 0.30),
    Endpoint("start", "start, `POST /verify/`", 302, 0.15),
    Endpoint("screen", "customer's screen, `GET /verify/<id>/`", 200, 0.25),
    # No target in the issue; measured because it is most of the traffic (docs/scaling.md).
    Endpoint("poll", "customer's screen's poll, `GET /verify/state/<token>/`", 200, None),
    Endpoint("confirm", "confirm, right OTP, `POST /verify/<id>/`", 302, 0.15),
    Endpoint("result", "result, `GET /verify/<id>/result/`", 200, 0.25),
    Endpoint("apply", "apply form, `GET /providers/apply/`", 200, 0.25),
    Endpoint("api_generate", "API generateOTP, `POST`", 200, 0.20),
    Endpoint("api_confirm", "API confirmOTP, right OTP, `POST`", 200, 0.20),
    Endpoint("api_status", "API status, `GET`", 200, 0.30),
    Endpoint("baseline_end", "constant view again, at the end", 200, None),
]
P99_OVER_P50 = 3.0


# --- HTTP from this process (sign-in, probes) -------------------------------------------


def sign_in(port: int, username: str, password: str) -> tuple[str, str, str]:
    """Sign in through the real login form; returns the session key, and the CSRF cookie
    and a form token read from the operator's form, good for every later POST."""
    session, csrf = _bench.sign_in(port, username, password)
    status, headers, body = _bench.request(
        port, "/verify/", headers={"Cookie": f"sessionid={session}; csrftoken={csrf}"}
    )
    if status != 200:
        raise SystemExit(f"the operator's form answered {status} after signing in")
    return session, csrf, _bench.form_token(body)


# --- other work on the machine during a run ---------------------------------------------


def busy_ticks() -> int:
    """CPU time spent busy by all CPUs since boot, in clock ticks (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


class OtherWork:
    """The share of the machine's CPU time that went to other work than the benchmark's
    during a run: all busy time (/proc/stat) less that of the benchmark's processes.

    The benchmark's are this process and gunicorn's master with their children (wrk, the
    workers), counted exactly: a parent's own time and that of its children it has reaped
    (a replaced worker, wrk once done), plus its children alive at the end, less those
    alive at the start. And PostgreSQL's backends for the benchmark's database, its
    background processes and Redis, sampled from /proc every half second while the run
    lasts: one that ends meanwhile counts up to its last sample. Other sessions' use of
    PostgreSQL and Redis counts as the benchmark's."""

    def __init__(self, database: str, gunicorn_pid: int):
        self.database = database
        self.parents = {os.getpid(), gunicorn_pid}
        self.kinds: dict[int, bool] = {}
        self.stopping = threading.Event()
        self.began, self.busy = time.monotonic(), busy_ticks()
        self.parents_first, self.children_first, self.served_first = self.sample()
        self.served_last = dict(self.served_first)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def serves(self, pid: int) -> bool:
        """Whether `pid` is one of PostgreSQL's or Redis's processes the benchmark uses."""
        if pid not in self.kinds:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\\0", b" ")
            except OSError:
                return False
            text = command.decode(errors="replace")
            backend = text.startswith("postgres: ") and f" {self.database} " in text
            background = re.match(r"postgres: [^ ]+: [a-z ]+ *$", text) is not None
            self.kinds[pid] = backend or background or text.startswith("redis-server")
        return self.kinds[pid]

    def sample(self) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
        """Clock ticks of CPU time so far: of the parents (their children reaped
        included), of the parents' live children, and of the servers' processes."""
        parents, children, served = {}, {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            pid, parent = int(entry), int(fields[1])
            own = int(fields[11]) + int(fields[12])  # utime, stime
            if pid in self.parents:
                parents[pid] = own + int(fields[13]) + int(fields[14])  # cutime, cstime
            elif parent in self.parents:
                children[pid] = own
            elif self.serves(pid):
                served[pid] = own
        return parents, children, served

    def loop(self) -> None:
        while not self.stopping.wait(0.5):
            self.served_last.update(self.sample()[2])

    def stop(self) -> float:
        """The other work's share of the machine during the run, 0 to 1."""
        self.stopping.set()
        self.thread.join()
        parents, children, served = self.sample()
        self.served_last.update(served)
        ours = (
            sum(parents[p] - self.parents_first.get(p, 0) for p in parents)
            + sum(children.values())
            - sum(self.children_first.values())
            + sum(t - self.served_first.get(p, 0) for p, t in self.served_last.items())
        )
        total = busy_ticks() - self.busy
        capacity = (time.monotonic() - self.began) * os.sysconf("SC_CLK_TCK") * os.cpu_count()
        return max(total - ours, 0) / capacity


# --- wrk and its Lua scripts -----------------------------------------------------------


def lua_string(text: str) -> str:
    """A Lua string literal for `text`, ASCII only (other bytes as \\ddd escapes)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


LUA = """\
-- {label}: written by scripts/bench_load.py for one wrk run.
local nthreads = {threads}
local expected = {expected}
local host = {host}
local csrf_cookie = {csrf_cookie}
local csrf_token = {csrf_token}
local api_key = {api_key}
local first_person = {first_person}
local gujarati = {gujarati}
local threads = {{}}
local sessions = {{}}
local items = {{}}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function read_lines(path, into)
  if path == "" then return end
  for line in io.lines(path) do
    local fields = {{}}
    for part in string.gmatch(line, "%S+") do table.insert(fields, part) end
    table.insert(into, fields)
  end
end

function init(args)
  counter = 0
  unexpected = 0
  exhausted = 0
  sample = ""
  read_lines({sessions_path}, sessions)
  read_lines({items_path}, items)
end

-- The i-th of a pool used once per request: past its end counts as an error.
local function once(i)
  if i >= #items then exhausted = exhausted + 1 end
  return items[(i % #items) + 1]
end

-- The i-th of a pool used again and again.
local function cycle(pool, i)
  return pool[(i % #pool) + 1]
end

local function session_cookie(key)
  return "sessionid=" .. key .. "; csrftoken=" .. csrf_cookie
end

local function form_headers(key)
  return {{Host = host, Cookie = session_cookie(key),
           ["Content-Type"] = "application/x-www-form-urlencoded"}}
end

local function api_headers()
  return {{Host = host, ["X-Api-Key"] = api_key, ["Content-Type"] = "application/json"}}
end

-- Person p of the registry: name (form-encoded or JSON) and mobile.
local function person(p, json)
  local name
  if p % 10 == 0 then
    if json then name = {gujarati_json} .. p else name = gujarati .. p end
  else
    if json then name = "Person Number " .. p else name = "Person+Number+" .. p end
  end
  return name, string.format("9%09d", p)
end

function request()
  local i = counter * nthreads + tid
  counter = counter + 1
{body}
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    if sample == "" then
      sample = status .. " " .. (string.gsub(string.sub(body or "", 1, 400), "%s+", " "))
    end
  end
end

function done(summary, latency, requests)
  local bad, short, first = 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    short = short + t:get("exhausted")
    if first == "" then first = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f connect=%d read=%d " ..
    "write=%d timeout=%d status=%d unexpected=%d exhausted=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, bad, short))
  io.write("BENCH sample=" .. first .. "\\n")
end
"""

BODIES = {
    "baseline": '  return wrk.format("GET", "/__bench__/constant", {Host = host})',
    "form": '  return wrk.format("GET", "/verify/", {Host = host, '
    "Cookie = session_cookie(cycle(sessions, i)[1])})",
    "start": """\
  local name, mobile = person(first_person + i, false)
  local body = "csrfmiddlewaretoken=" .. csrf_token .. "&full_name=" .. name ..
    "&mobile_number=" .. mobile .. "&purpose=travel&language=en"
  return wrk.format("POST", "/verify/", form_headers(cycle(sessions, i)[1]), body)""",
    "screen": """\
  local id = cycle(items, i)[1]
  return wrk.format("GET", "/verify/" .. id .. "/",
    {Host = host, Cookie = session_cookie(cycle(sessions, i)[1])})""",
    "poll": """\
  return wrk.format("GET", "/verify/state/" .. cycle(items, i)[1] .. "/", {Host = host})""",
    "confirm": """\
  local item = once(i)
  local body = "csrfmiddlewaretoken=" .. csrf_token .. "&otp=" .. item[3]
  return wrk.format("POST", "/verify/" .. item[2] .. "/", form_headers(item[1]), body)""",
    "result": """\
  local item = once(i)
  return wrk.format("GET", "/verify/" .. item[2] .. "/result/",
    {Host = host, Cookie = session_cookie(item[1])})""",
    "apply": '  return wrk.format("GET", "/providers/apply/", {Host = host})',
    "api_generate": """\
  local name, mobile = person(first_person + i, true)
  local body = '{"full_name": "' .. name .. '", "mobile_number": "' .. mobile ..
    '", "purpose": "travel"}'
  return wrk.format("POST", "/api/v3/vaccination/generateOTP", api_headers(), body)""",
    "api_confirm": """\
  local item = once(i)
  local body = '{"otp": "' .. item[2] .. '", "txnId": "' .. item[1] .. '"}'
  return wrk.format("POST", "/api/v3/vaccination/confirmOTP", api_headers(), body)""",
    "api_status": """\
  local headers = api_headers()
  headers["Authorization"] = "Bearer " .. cycle(items, i)[1]
  return wrk.format("GET", "/api/v3/vaccination/status", headers)""",
}
BODIES["baseline_end"] = BODIES["baseline"]


@dataclass
class Run:
    """One wrk run's figures: requests, seconds, latency percentiles in ms, errors by kind
    and a sample of the first unexpected answer."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    sample: str
    load: float
    restarts: int = 0
    others: float = 0.0  # the share of the machine's CPU other work took (OtherWork)
    attempts: int = 1

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def error_count(self) -> int:
        """Requests that erred: socket errors and answers with another status than the
        one expected; a run in which nothing answered counts as one (nothing was checked).
        wrk's own "status" (not 2xx or 3xx) is within "unexpected"; "exhausted" (requests
        made after the prepared items ran out, which then answer unexpectedly) tells why."""
        erred = sum(n for kind, n in self.errors.items() if kind not in ("status", "exhausted"))
        return erred or (0 if self.requests else 1)


def run_wrk(script: Path, port: int, args, seconds: float) -> Run:
    """wrk with `script` against the portal for `seconds`, loopback only."""
    load = os.getloadavg()[0]
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--timeout=5s",
        "-s",
        str(script),
        f"http://{_bench.HOST}:{port}/",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    fields, sample = {}, ""
    for line in done.stdout.splitlines():
        if line.startswith("BENCH sample="):
            sample = line.removeprefix("BENCH sample=")
        elif line.startswith("BENCH "):
            fields = dict(item.split("=", 1) for item in line.split()[1:])
    if done.returncode != 0 or not fields:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    numbers = {k: float(v) for k, v in fields.items()}
    return Run(
        requests=int(numbers["requests"]),
        seconds=numbers["duration_us"] / 1e6,
        p50_ms=numbers["p50_us"] / 1000,
        p99_ms=numbers["p99_us"] / 1000,
        errors={
            k: int(numbers[k])
            for k in ("connect", "read", "write", "timeout", "status", "unexpected", "exhausted")
        },
        sample=sample,
        load=load,
    )


# --- the state the flows need, made in this process with the portal's own code ----------


@dataclass
class Inputs:
    """What one run's Lua script reads (files of sessions and of items, the first registry
    person its starts use, the API key it sends) and the probe sent before it:
    (method, path, headers, body) of one prepared request that must answer as expected."""

    sessions: Path | str = ""
    items: Path | str = ""
    first_person: int = 0
    api_key: str = ""
    probe: tuple | None = None


class Fixtures:
    """Sessions and verifications for the runs, written with the portal's own models and
    services: Django is set up in this process with the same settings and database as
    gunicorn's. `signed_in` maps each organisation's name to the session key of its
    operator's real sign-in; `csrf` is the CSRF cookie and a form token that go with any
    session."""

    def __init__(self, folder: Path, port: int, signed_in: dict[str, str], csrf: tuple):
        from django.conf import settings
        from django.db.models import Max, Min

        from providers.models import ApiKey, Organisation
        from verification.models import Beneficiary

        self.folder, self.port, self.settings = folder, port, settings
        self.csrf_cookie, self.csrf_token = csrf
        self.rng = random.Random(13)
        self.travels = Organisation.objects.get(name="Bench Travels")
        self.hotels = Organisation.objects.get(name="Bench Hotels")
        self.signed_in = {o.pk: signed_in[o.name] for o in (self.travels, self.hotels)}
        self.keys = {o.pk: ApiKey.issue(o, "Load benchmark") for o in (self.travels, self.hotels)}
        bounds = Beneficiary.objects.aggregate(low=Min("pk"), high=Max("pk"))
        self.registry_pks = range(bounds["low"], bounds["high"] + 1)
        self.people = len(self.registry_pks)
        self.next_person = 1
        # What the current run was given: discarded after it (discard).
        self.made_verifications: list[int] = []
        self.made_sessions: list[str] = []
        self.held_results: dict[str, int] = {}  # session key: its verification's pk

    def form_headers(self, session: str) -> dict:
        return {
            "Cookie": f"sessionid={session}; csrftoken={self.csrf_cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def api_headers(self, organisation) -> dict:
        return {"X-Api-Key": self.keys[organisation.pk][1], "Content-Type": "application/json"}

    def session_copies(self, organisation, count: int, extra=None) -> list[str]:
        """The keys of `count` new sessions holding what the real sign-in's session of
        `organisation`'s operator holds, each plus the entries `extra(i)` returns."""
        from datetime import timedelta

        from django.contrib.sessions.backends.base import VALID_KEY_CHARS
        from django.contrib.sessions.backends.db import SessionStore
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        from django.utils.crypto import get_random_string

        store = SessionStore()
        base = SessionStore(session_key=self.signed_in[organisation.pk]).load()
        expires = timezone.now() + timedelta(minutes=self.settings.KYVS_OPERATOR_IDLE_MINUTES)
        rows = [
            Session(
                session_key=get_random_string(32, VALID_KEY_CHARS),
                session_data=store.encode({**base, **(extra(i) if extra else {})}),
                expire_date=expires,
            )
            for i in range(count)
        ]
        Session.objects.bulk_create(rows, batch_size=2000)
        self.made_sessions += [row.session_key for row in rows]
        return [row.session_key for row in rows]

    def pending(self, organisation, count: int, channel: str) -> list[tuple]:
        """`count` verifications of `organisation` through `channel` waiting for their code,
        each for a random registered person, the code made by the model as the SMS job makes
        it (request_code, then issue_code, which keeps only the keyed hash) and its SMS
        marked sent: [(verification, code)]."""
        from django.utils import timezone

        from kyvs.mobile import mask_mobile
        from verification.models import Beneficiary, Verification

        api = channel == Verification.Channel.API
        key = self.keys[organisation.pk][0] if api else None
        operator = None if api else organisation.memberships.first().user
        scopes = key.granted_scopes() if api else organisation.granted_scopes()
        sample = self.rng.sample(self.registry_pks, min(count, self.people))
        people = list(Beneficiary.objects.in_bulk(sample).values())
        now = timezone.now()
        made = []
        for i in range(count):
            person = people[i % len(people)]
            verification = Verification(
                public_id=uuid.uuid4(),
                organisation=organisation,
                operator=operator,
                api_key=key,
                channel=channel,
                purpose=PURPOSE,
                scopes=scopes,
                beneficiary=person,
                mobile_masked=mask_mobile(person.mobile),
                ip=_bench.HOST,
                created_at=now,
            )
            verification.request_code(now, "en")
            code = verification.issue_code(now)
            # What Verification.objects.mark_code_sent records once the SMS has gone.
            verification.code_delivery = Verification.Delivery.SENT
            made.append((verification, code))
        Verification.objects.bulk_create([v for v, _ in made], batch_size=2000)
        self.made_verifications += [v.pk for v, _ in made]
        return made

    def confirmed(self, count: int) -> list[tuple[str, dict, int]]:
        """`count` web verifications confirmed with their right code by
        services.confirm_verification, each with the entries the confirm view then puts in
        the operator's session (ResultHandOff over a SessionStore):
        [(public id, session entries, pk)]."""
        from django.db import transaction

        from verification import services
        from verification.handoff import ResultHandOff, SessionStore
        from verification.models import Verification

        held = []
        made = self.pending(self.hotels, count, Verification.Channel.WEB)
        for first in range(0, len(made), 500):
            # Many confirms to one commit: each confirm's own transaction becomes a
            # savepoint, and the preparation does not wait for a disk flush per item.
            with transaction.atomic():
                for verification, code in made[first : first + 500]:
                    outcome = services.confirm_verification(verification, code)
                    assert outcome.ok, outcome.reason
                    entries: dict = {}
                    ResultHandOff(
                        SessionStore(entries), self.settings.KYVS_RESULT_PICKUP_SECONDS
                    ).hold(outcome.result)
                    held.append((str(verification.public_id), entries, verification.pk))
        return held

    def status_tokens(self) -> list[str]:
        """Tokens from real confirmOTP calls over HTTP, for prepared API verifications."""
        from verification.models import Verification

        tokens = []
        for verification, code in self.pending(self.hotels, STATUS_POOL, Verification.Channel.API):
            status, _, answer = _bench.request(
                self.port,
                "/api/v3/vaccination/confirmOTP",
                method="POST",
                headers=self.api_headers(self.hotels),
                body=json.dumps({"otp": code, "txnId": str(verification.public_id)}),
            )
            if status != 200:
                raise SystemExit(f"confirmOTP for a status token answered {status}: {answer!r}")
            tokens.append(json.loads(answer)["token"])
        return tokens

    def discard(self) -> None:
        """After a run: the sessions made for it deleted, and the verifications made for
        it that no request used: those still waiting for their code, and those whose result
        is still held in its session. The pools are made larger than any run can use; left
        in place, thousands of verifications no request touched would count in the
        organisation's day (the daily quota, and the API's RateLimit headers on every call)
        and weigh on the next runs."""
        from django.contrib.sessions.backends.db import SessionStore
        from django.contrib.sessions.models import Session

        from verification.models import Verification

        unshown = [
            self.held_results[row.session_key]
            for row in Session.objects.filter(session_key__in=list(self.held_results))
            if any(k.startswith("kyvs.result.") for k in SessionStore().decode(row.session_data))
        ]
        waiting = Verification.State.OTP_SENT
        for first in range(0, len(self.made_verifications), 5000):
            chunk = self.made_verifications[first : first + 5000]
            Verification.objects.filter(pk__in=chunk, state=waiting).delete()
        for first in range(0, len(unshown), 5000):
            Verification.objects.filter(pk__in=unshown[first : first + 5000]).delete()
        for first in range(0, len(self.made_sessions), 5000):
            chunk = self.made_sessions[first : first + 5000]
            Session.objects.filter(session_key__in=chunk).delete()
        self.made_verifications, self.made_sessions, self.held_results = [], [], {}

    def people_block(self, size: int) -> int:
        """The first of `size` registry people no start has used yet: each start a mobile
        of its own, so that the per-mobile limits never answer instead. Past the
        registry's end the name and mobile match nobody, which a start answers the same
        way."""
        first = self.next_person
        self.next_person += size
        return first

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.folder / f"{name}.txt"
        path.write_text("".join(line + "\n" for line in lines))
        return path

    def start_body(self, person: int) -> str:
        return (
            f"csrfmiddlewaretoken={self.csrf_token}&full_name=Person+Number+{person}"
            f"&mobile_number=9{person:09d}&purpose={PURPOSE}&language=en"
        )

    def prepare(self, key: str, size: int) -> Inputs:
        """The inputs of a run of endpoint `key` that may make up to `size` requests; the
        probe takes a prepared item of its own."""
        from verification.models import Verification

        web, api = Verification.Channel.WEB, Verification.Channel.API
        travels, hotels = self.travels, self.hotels
        if key in ("baseline", "baseline_end", "apply"):
            return Inputs()
        if key == "form":
            return Inputs(sessions=self.write(key, self.session_copies(travels, SESSION_POOL)))
        if key == "start":
            first = self.people_block(size + 1)
            return Inputs(
                sessions=self.write(key, self.session_copies(travels, SESSION_POOL)),
                first_person=first + 1,
                probe=(
                    "POST",
                    "/verify/",
                    self.form_headers(self.signed_in[travels.pk]),
                    self.start_body(first),
                ),
            )
        if key == "screen":
            made = self.pending(hotels, SCREEN_POOL, web)
            return Inputs(
                sessions=self.write(f"{key}-sessions", self.session_copies(hotels, SESSION_POOL)),
                items=self.write(key, [str(v.public_id) for v, _ in made]),
            )
        if key == "poll":
            from verification.views import state_url

            made = self.pending(hotels, SCREEN_POOL, web)
            tokens = [state_url(v).rstrip("/").rsplit("/", 1)[1] for v, _ in made]
            return Inputs(items=self.write(key, tokens))
        if key == "confirm":
            made = self.pending(hotels, size + 1, web)
            sessions = self.session_copies(hotels, size + 1)
            (probe, code), *made = made
            return Inputs(
                items=self.write(
                    key,
                    [
                        f"{s} {v.public_id} {c}"
                        for s, (v, c) in zip(sessions[1:], made, strict=True)
                    ],
                ),
                probe=(
                    "POST",
                    f"/verify/{probe.public_id}/",
                    self.form_headers(sessions[0]),
                    f"csrfmiddlewaretoken={self.csrf_token}&otp={code}",
                ),
            )
        if key == "result":
            held = self.confirmed(size + 1)
            sessions = self.session_copies(hotels, size + 1, extra=lambda i: held[i][1])
            self.held_results = {s: pk for s, (_, _, pk) in zip(sessions, held, strict=True)}
            return Inputs(
                items=self.write(
                    key, [f"{s} {v}" for s, (v, _, _) in zip(sessions[1:], held[1:], strict=True)]
                ),
                probe=(
                    "GET",
                    f"/verify/{held[0][0]}/result/",
                    {"Cookie": f"sessionid={sessions[0]}"},
                    None,
                ),
            )
        if key == "api_generate":
            first = self.people_block(size + 1)
            body = {"full_name": f"Person Number {first}", "mobile_number": f"9{first:09d}"}
            return Inputs(
                first_person=first + 1,
                api_key=self.keys[travels.pk][1],
                probe=(
                    "POST",
                    "/api/v3/vaccination/generateOTP",
                    self.api_headers(travels),
                    json.dumps({**body, "purpose": PURPOSE}),
                ),
            )
        if key == "api_confirm":
            made = [
                (str(v.public_id), hashlib.sha256(code.encode()).hexdigest())
                for v, code in self.pending(hotels, size + 1, api)
            ]
            return Inputs(
                items=self.write(key, [f"{v} {digest}" for v, digest in made[1:]]),
                api_key=self.keys[hotels.pk][1],
                probe=(
                    "POST",
                    "/api/v3/vaccination/confirmOTP",
                    self.api_headers(hotels),
                    json.dumps({"otp": made[0][1], "txnId": made[0][0]}),
                ),
            )
        if key == "api_status":
            tokens = self.status_tokens()
            return Inputs(
                items=self.write(key, tokens),
                api_key=self.keys[hotels.pk][1],
                probe=(
                    "GET",
                    "/api/v3/vaccination/status",
                    {**self.api_headers(hotels), "Authorization": f"Bearer {tokens[0]}"},
                    None,
                ),
            )
        raise ValueError(key)


# --- the machine, the table and the document -------------------------------------------


def machine(database_url: str, redis_url: str) -> dict[str, str]:
    """What the figures were measured on, read from the system and the servers."""
    import psycopg
    import redis

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    with psycopg.connect(database_url) as connection:
        pg = connection.execute("SHOW server_version").fetchone()[0]
    client = redis.Redis.from_url(redis_url)
    redis_version = client.info("server")["redis_version"]
    client.close()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607
        cwd=_bench.ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    import django
    import gunicorn

    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "CPU": f"{cpu}, {os.cpu_count()} logical CPUs ({len(os.sched_getaffinity(0))} usable)",
        "memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "software": f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"gunicorn {gunicorn.__version__}, PostgreSQL {pg}, Redis {redis_version}, "
        f"{(wrk.stdout or wrk.stderr).split(' [')[0].strip()}",
        "code": commit or "unknown",
        "load average at start": _bench.load_average(),
    }


def verdict(endpoint: Endpoint, rps: float, p50: float, p99: float, errors: int, base: float):
    """(ratio, "yes" or "no: " and what is missed) for one row; the baseline has no target
    but its errors, "—" without."""
    ratio = rps / base if base else 0.0
    missed = []
    if endpoint.target is not None and ratio < endpoint.target:
        missed.append("ratio")
    if endpoint.target is not None and p99 > P99_OVER_P50 * p50:
        missed.append("p99")
    if errors:
        missed.append("errors")
    if missed:
        return ratio, "no: " + ", ".join(missed)
    return ratio, "yes" if endpoint.target is not None else "—"


def table(results: dict[str, list[Run]]) -> tuple[list[str], int]:
    """The Markdown table of the medians over rounds (errors summed), and the error total."""
    base = statistics.mean(
        statistics.median(r.rps for r in results[key]) for key in ("baseline", "baseline_end")
    )
    lines = [
        "| endpoint | expected | req/s | p50 ms | p99 ms | errors | ratio | target | met? |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    total_errors = 0
    for endpoint in ENDPOINTS:
        runs = results[endpoint.key]
        rps = statistics.median(r.rps for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        errors = sum(r.error_count for r in runs)
        total_errors += errors
        ratio, met = verdict(endpoint, rps, p50, p99, errors, base)
        target = f"≥ {endpoint.target:.2f}, p99 ≤ 3×p50" if endpoint.target is not None else "—"
        lines.append(
            f"| {endpoint.label} | {endpoint.expected} | {rps:,.0f} | {p50:.1f} | {p99:.1f} "
            f"| {errors} | {ratio:.3f} | {target} | {met} |"
        )
    return lines, total_errors


def details(results: dict[str, list[Run]]) -> list[str]:
    """A table of every run: req/s, the share of the machine other work took during it,
    the load average at its start, the workers replaced during it, and its errors by kind
    with the first unexpected answer."""
    rounds = max(len(runs) for runs in results.values())
    lines = [
        "| run | " + " | ".join(f"round {n}" for n in range(1, rounds + 1)) + " |",
        "|---|" + "---|" * rounds,
    ]
    for endpoint in ENDPOINTS:
        cells = []
        for run in results[endpoint.key]:
            cell = (
                f"{run.rps:,.0f} req/s, other work {run.others:.0%}, load {run.load:.2f}, "
                f"{run.restarts} replaced"
            )
            if run.attempts > 1:
                cell += f", attempt {run.attempts}"
            kinds = [f"{k} {n}" for k, n in run.errors.items() if n and k != "status"]
            if kinds:
                cell += f"; errors: {', '.join(kinds)}; first: {run.sample[:120] or 'none'}"
            elif not run.requests:
                cell += "; nothing answered"
            cells.append(cell.replace("|", "\\|"))
        lines.append(f"| {endpoint.key} | " + " | ".join(cells) + " |")
    return lines


def write_doc(name: str, block: str) -> None:
    """Put `block` between the markers of table `name` in docs/performance.md, replacing
    what was there; a table not there yet is added at the end under its own heading."""
    begin, end = f"<!-- bench_load:{name} begin -->", f"<!-- bench_load:{name} end -->"
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{block}\n{end}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n## Run: {name}\n\n{begin}\n{block}\n{end}\n"
    DOC.write_text(text)


# --- main ------------------------------------------------------------------------------


def registry_rows(beneficiaries: int) -> int:
    """Rows of the sample registry that hold exactly `beneficiaries` people: person p has
    p % 4 doses (one row for none), so each four people take 7 rows."""
    full, rest = divmod(beneficiaries, 4)
    return 7 * full + (0, 1, 3, 6)[rest]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument(
        "--large", action="store_const", const=1_000_000, dest="beneficiaries", help="1,000,000"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="10,000 beneficiaries, 2 s an endpoint, no writing"
    )
    parser.add_argument("--seconds", type=float, default=10, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=1, help="medians are reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk's")
    parser.add_argument(
        "--table", default="latest", help="which table of docs/performance.md to replace"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--max-requests",
        type=int,
        help="gunicorn's, instead of gunicorn.conf.py's (0: workers are never replaced); "
        "--smoke sets 0",
    )
    parser.add_argument(
        "--max-other-work",
        type=float,
        default=0.10,
        help="a run during which other work took more of the machine's CPU is made again",
    )
    parser.add_argument("--attempts", type=int, default=3, help="at most, for each run")
    parser.add_argument(
        "--keep-folder", action="store_true", help="keep the temporary folder (logs, Lua)"
    )
    _bench.add_server_arguments(parser, database_name="kyvs_loadbench", redis_db=7)
    args = parser.parse_args(argv)
    if args.smoke:
        args.beneficiaries, args.seconds, args.rounds, args.no_write = 10_000, 2, 1, True
        if args.max_requests is None:
            # A 2-second run may fall inside a worker's replacement (a second or more of
            # start-up) and see no answer at all; the smoke run checks answers, not speed.
            args.max_requests = 0
        args.attempts = 1
    _bench.check_server_arguments(parser, args)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")
    return args


# The portal's settings for the run: kyvs.settings, with the static files and the URLconf
# of the temporary folder.
SETTINGS = """\
from kyvs.settings import *  # noqa: F403

STATIC_ROOT = {static!r}
ROOT_URLCONF = "bench_urls"
"""
URLS = '''\
"""kyvs.urls plus the benchmark's baseline: a constant answer."""

from django.http import HttpResponse
from django.urls import path

from kyvs.urls import handler500  # noqa: F401
from kyvs.urls import urlpatterns as kyvs_urlpatterns


def constant(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("__bench__/constant", constant), *kyvs_urlpatterns]
'''
OPERATORS = {"Bench Travels": "bench-operator", "Bench Hotels": "bench-desk"}


class Bench:
    """One run of the benchmark: its temporary folder, the portal's environment, the
    database and Redis keys it makes, gunicorn, and the figures."""

    def __init__(self, args: argparse.Namespace):
        import psycopg
        import redis

        self.args = args
        self.began = time.monotonic()
        self.maintenance = psycopg.connect(args.database_url, autocommit=True)
        # One run at a time per database name, across processes: another run's database
        # is never dropped under it.
        locked = self.maintenance.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))", [f"bench_load:{args.database_name}"]
        ).fetchone()[0]
        if not locked:
            self.maintenance.close()
            raise SystemExit(
                f"another bench_load run is using the database {args.database_name}; "
                "wait for it, or give this one --database-name and --redis-url of its own"
            )
        self.cache = redis.Redis.from_url(args.redis_url)
        self.server: _bench.Gunicorn | None = None
        self.django_ready = False
        self.owns_database = False
        self.folder = Path(tempfile.mkdtemp(prefix="kyvs-bench-load-"))
        (self.folder / "bench_settings.py").write_text(
            SETTINGS.format(static=str(self.folder / "static"))
        )
        (self.folder / "bench_urls.py").write_text(URLS)
        self.passwords = {name: secrets.token_urlsafe(16) for name in OPERATORS.values()}
        # Nothing of the caller's own configuration leaks into the portal's.
        inherited = ("KYVS_", "DJANGO_", "DATABASE_", "REDIS_", "WEB_CONCURRENCY", "GUNICORN_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
        self.env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(self.folder), str(_bench.ROOT)]),
                "DJANGO_SETTINGS_MODULE": "bench_settings",
                **_bench.production_env(self.folder, _bench.HOST),
                "KYVS_TASK_BACKEND": "database",
                "KYVS_SMS_BACKEND": "file",
                "KYVS_SMS_FILE": str(self.folder / "sms.jsonl"),
                "KYVS_STARTS_PER_ACTOR": str(RAISED),
                "DATABASE_URL": _bench.with_database(args.database_url, args.database_name),
                "REDIS_URL": args.redis_url,
                "WEB_CONCURRENCY": "2",
            }
        )

    def step(self, what: str) -> None:
        print(f"[{time.monotonic() - self.began:6.1f} s] {what}", flush=True)

    def manage(self, *command: str, quiet=False) -> None:
        subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [sys.executable, "manage.py", *command],
            cwd=_bench.ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL if quiet else None,
        )

    def set_up(self) -> None:
        """The database, migrated; the static files; the organisations; the registry,
        imported by import_registry; Django set up in this process on the same."""
        _bench.create_database(self.maintenance, self.args.database_name)
        self.owns_database = True
        _bench.forget_keys(self.cache)
        self.step("migrate, collectstatic, organisations")
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")
        for organisation, operator in OPERATORS.items():
            self.manage(
                "create_provider",
                f"--name={organisation}",
                "--kind=travel_agency",
                f"--purposes={PURPOSE}",
                "--scopes=vaccinations,demographics",
                f"--operator={operator}",
                f"--password={self.passwords[operator]}",
                f"--daily-quota={RAISED}",
            )
        os.environ.update(self.env)
        sys.path[:0] = [str(self.folder), str(_bench.ROOT)]
        import django

        django.setup()
        self.django_ready = True
        from django.db import connection

        from verification.sample_registry import write_big_registry

        registry = self.folder / "registry.csv"
        self.people, self.doses = write_big_registry(
            registry, registry_rows(self.args.beneficiaries)
        )
        self.step(f"import_registry: {self.people:,} beneficiaries, {self.doses:,} doses")
        began = time.monotonic()
        self.manage("import_registry", str(registry), quiet=True)
        self.imported_in = time.monotonic() - began
        registry.unlink()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        connection.close()
        self.step(f"imported in {self.imported_in:.1f} s")

    def serve(self) -> Fixtures:
        """gunicorn started and answering; each operator signed in."""
        self.step("gunicorn")
        max_requests = self.args.max_requests
        self.server = _bench.Gunicorn(
            [
                "-c",
                str(_bench.ROOT / "gunicorn.conf.py"),
                *([f"--max-requests={max_requests}"] if max_requests is not None else []),
            ],
            self.env,
            self.folder / "gunicorn.log",
        )
        self.server.wait_ready()
        signed_in = {}
        for organisation, operator in OPERATORS.items():
            signed_in[organisation], *csrf = sign_in(
                self.server.port, operator, self.passwords[operator]
            )
        return Fixtures(self.folder, self.server.port, signed_in, tuple(csrf))

    def script(self, endpoint: Endpoint, fixtures: Fixtures, inputs: Inputs) -> Path:
        path = self.folder / f"{endpoint.key}.lua"
        path.write_text(
            LUA.format(
                label=endpoint.label,
                threads=self.args.threads,
                expected=endpoint.expected,
                host=lua_string(f"{_bench.HOST}:{self.server.port}"),
                csrf_cookie=lua_string(fixtures.csrf_cookie),
                csrf_token=lua_string(fixtures.csrf_token),
                api_key=lua_string(inputs.api_key),
                first_person=inputs.first_person,
                gujarati=lua_string(quote_plus(GUJARATI_NAME)),
                gujarati_json=lua_string(json.dumps(GUJARATI_NAME)[1:-1]),
                sessions_path=lua_string(str(inputs.sessions)),
                items_path=lua_string(str(inputs.items)),
                body=BODIES[endpoint.key],
            )
        )
        return path

    def probe(self, endpoint: Endpoint, inputs: Inputs) -> None:
        if inputs.probe is None:
            return
        method, path, headers, body = inputs.probe
        status, _, answer = _bench.request(
            self.server.port, path, method=method, headers=headers, body=body
        )
        if status != endpoint.expected:
            raise SystemExit(
                f"probe of {endpoint.key}: {method} {path} answered {status}, not "
                f"{endpoint.expected}:\n{answer[:2000].decode(errors='replace')}"
            )

    def run_once(self, endpoint: Endpoint, fixtures: Fixtures, size: int) -> Run:
        """One run of `endpoint`: its inputs for up to `size` requests prepared, its probe
        answered, wrk, and what the run did not use discarded."""
        from django.db import connection

        inputs = fixtures.prepare(endpoint.key, size)
        connection.close()
        self.probe(endpoint, inputs)
        booted = self.server.workers_booted()
        script = self.script(endpoint, fixtures, inputs)
        others = OtherWork(self.args.database_name, self.server.process.pid)
        run = run_wrk(script, self.server.port, self.args, self.args.seconds)
        run.others = others.stop()
        run.restarts = self.server.workers_booted() - booted
        fixtures.discard()
        return run

    def measure(self, fixtures: Fixtures) -> dict[str, list[Run]]:
        """Every endpoint, in ENDPOINTS' order, --rounds times; a run during which other
        work took more than --max-other-work of the machine is made again, up to
        --attempts times in all (the last one counts)."""
        args = self.args
        warm_up = 1 if args.smoke else 3
        self.step(f"warm-up: {warm_up} s of the operator's form")
        warm = Endpoint("form", "warm-up", 200, None)
        run_wrk(
            self.script(warm, fixtures, fixtures.prepare("form", 0)),
            self.server.port,
            args,
            warm_up,
        )
        fixtures.discard()
        results: dict[str, list[Run]] = {e.key: [] for e in ENDPOINTS}
        for round_ in range(1, args.rounds + 1):
            rates: dict[str, float] = {}
            for endpoint in ENDPOINTS:
                # Room for every request a run could make: no page outruns the constant
                # view by half. The result's items cost a real confirm each, so they are
                # sized from the pages of the same kind measured before it.
                ceiling = rates.get("baseline", 2000) * 1.5
                if endpoint.key == "result":
                    ceiling = max(rates["screen"], rates["form"]) * 2
                size = int(ceiling * args.seconds) + 50
                for attempt in range(1, args.attempts + 1):
                    run = self.run_once(endpoint, fixtures, size)
                    run.attempts = attempt
                    self.step(
                        f"round {round_} {endpoint.key:<13} {run.rps:8.1f} req/s  "
                        f"p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  ({run.requests} "
                        f"requests, other work {run.others:.0%}, load {run.load:.2f}, workers "
                        f"replaced: {run.restarts})"
                        + (f"  ERRORS {run.errors}: {run.sample[:300]}" if run.error_count else "")
                    )
                    if run.others <= args.max_other_work:
                        break
                results[endpoint.key].append(run)
                rates[endpoint.key] = run.rps
        return results

    def tear_down(self) -> None:
        """Everything the run made, stopped, dropped or deleted (the folder kept with
        --keep-folder)."""
        if self.server is not None:
            self.server.stop()
        if self.django_ready:
            from django.db import connections

            connections.close_all()
        if self.owns_database:
            _bench.drop_database(self.maintenance, self.args.database_name)
        self.maintenance.close()
        _bench.forget_keys(self.cache)
        self.cache.close()
        if self.args.keep_folder:
            print(f"kept {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    def setup_line(self) -> str:
        args = self.args
        if args.max_requests is None:
            conf = runpy.run_path(str(_bench.ROOT / "gunicorn.conf.py"))
            replaced = (
                f"each worker replaced after {conf['max_requests']} ± "
                f"{conf['max_requests_jitter']} requests (gunicorn.conf.py)"
            )
        elif args.max_requests:
            replaced = f"each worker replaced after {args.max_requests} requests (--max-requests)"
        else:
            replaced = "workers never replaced (--max-requests 0)"
        return (
            f"{self.people:,} beneficiaries ({self.doses:,} doses) imported by import_registry "
            f"in {self.imported_in:.0f} s; gunicorn -c gunicorn.conf.py, 2 sync workers, "
            f"{replaced}; wrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s, "
            f"{args.rounds} round(s), medians; KYVS_STARTS_PER_ACTOR and the daily quota "
            f"raised to {RAISED:,} for the run."
        )


def main() -> None:
    args = parse_args()
    bench = Bench(args)
    try:
        described = machine(args.database_url, args.redis_url)
        bench.step(
            f"load average {described['load average at start']}; raised for the run: "
            f"KYVS_STARTS_PER_ACTOR and the organisations' daily quota to {RAISED:,}"
        )
        bench.set_up()
        results = bench.measure(bench.serve())
        described["load average at end"] = _bench.load_average()
    finally:
        bench.tear_down()

    rows, total_errors = table(results)
    max_other = args.max_other_work
    block = "\n".join(
        [
            *(f"- {name}: {value}" for name, value in described.items()),
            f"- setup: {bench.setup_line()}",
            "",
            *rows,
            "",
            "Each run: req/s, the share of the machine's CPU time that other work than the "
            "benchmark's took during it, the load average at its start, workers replaced "
            "during it, and which attempt counted when the ones before had more than "
            f"{max_other:.0%} of other work.",
            "",
            *details(results),
        ]
    )
    print("\n" + block)
    if not args.no_write:
        write_doc(args.table, block)
        print(f"\nwritten to {DOC.relative_to(_bench.ROOT)} (table {args.table!r})")
    if total_errors:
        raise SystemExit(f"{total_errors} requests erred")


if __name__ == "__main__":
    main()
