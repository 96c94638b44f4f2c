"""A page of "another site" that frames the embeddable page, for trying it on one machine.

Served only in debug mode (verification/embed_urls.py). Open it at http://localhost:PORT/
embed/demo/ while KYVS itself is http://127.0.0.1:PORT (or the other way round): the two
host names are two origins, and two sites, so the frame is a real third-party frame.
`./scripts/demo` registers both as Demo Travels' embed origins.

It plays the organisation's site and its back end: the page frames the no-code embed and,
on request, an embed session its back end (this module) makes with a real call to
POST /api/v3/embed/sessions, using an API key it issues for itself and keeps in the cache;
it prints each message the frame posts and what GET /api/v3/embed/sessions/<id> says.
"""

import json
import urllib.error
import urllib.request

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from providers.models import ApiKey, Organisation

DEMO_ORGANISATION = "Demo Travels"
_KEY_NAME = "Embed demo (debug mode only)"
_KEY_CACHE = "kyvs.embed-demo.api-key"


def _portal_origin(request: HttpRequest) -> str:
    """KYVS as seen from this page: the same server under the other loopback name."""
    host, _sep, port = request.get_host().partition(":")
    other = "127.0.0.1" if host == "localhost" else "localhost"
    return f"http://{other}:{port}" if port else f"http://{other}"


def _api_key(organisation: Organisation) -> str:
    """The demo back end's API key: issued once per cache lifetime, the previous one
    revoked, so keys do not pile up."""
    raw = cache.get(_KEY_CACHE)
    if raw and ApiKey.objects.for_key(raw) is not None:
        return raw
    for old in organisation.api_keys.active().filter(name=_KEY_NAME):
        old.revoke()
    raw = ApiKey.issue(organisation, _KEY_NAME)[1]
    cache.set(_KEY_CACHE, raw, None)
    return raw


def _call_api(method: str, url: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http only in debug)
    request.add_header("X-Api-Key", key)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@never_cache
def demo(request: HttpRequest) -> HttpResponse:
    portal = _portal_origin(request)
    organisation = Organisation.objects.filter(name=DEMO_ORGANISATION).first()
    context = {
        "portal": portal,
        "page_origin": f"{request.scheme}://{request.get_host()}",
        "organisation": organisation,
    }
    if organisation is not None:
        context["no_code_url"] = portal + reverse("embed:start", args=[organisation.public_id])
        if request.method == "POST":
            body = {"origin": context["page_origin"], "purpose": "travel"}
            for field in ("full_name", "mobile_number"):
                if request.POST.get(field, "").strip():
                    body[field] = request.POST[field].strip()
            status, answer = _call_api(
                "POST", f"{portal}/api/v3/embed/sessions", _api_key(organisation), body
            )
            context.update(request_body=json.dumps(body, indent=2, ensure_ascii=False))
            context.update(status=status, answer=json.dumps(answer, indent=2))
            context["session_url"] = answer.get("url") if status == 201 else None
    response = render(request, "embed/demo.html", context)
    # This page plays another site: it frames KYVS, which its own policy must allow
    # (django-csp's per-response update, as its decorators set it).
    response._csp_update = {"frame-src": [portal]}
    return response


@never_cache
def demo_session(request: HttpRequest, session_id) -> JsonResponse:
    """What the demo back end hears from GET /api/v3/embed/sessions/<session_id>."""
    organisation = Organisation.objects.get(name=DEMO_ORGANISATION)
    url = f"{_portal_origin(request)}/api/v3/embed/sessions/{session_id}"
    status, answer = _call_api("GET", url, _api_key(organisation))
    return JsonResponse({"status": status, "answer": answer})
