"""Which pages another site may show in a frame, and the cookies a framed page needs.

Every page refuses to be framed (`X-Frame-Options: DENY` and the Content-Security-Policy's
`frame-ancestors 'none'`, kyvs/settings.py) except the responses a view hands to
`allow_framing` with the origins that may frame it: those carry
`frame-ancestors <origins>` instead, computed for that one request, and no X-Frame-Options
(which cannot name an origin).

A page inside a frame of another site is a third-party context: browsers send it only
cookies marked `SameSite=None; Secure`, and Chromium keeps such a cookie in a jar of its own
per top-level site when it is also `Partitioned` (CHIPS), the only kind that keeps working
where third-party cookies are blocked. The portal's own cookies must keep their strict
settings, so under EMBED_PATH the session, CSRF and language cookies go by names of their
own with those attributes (EmbedCookiesMiddleware), and the portal's are never read there.
"""

from http.cookies import Morsel

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings

# The embeddable pages live under this path (kyvs/urls.py) and only they may be framed.
EMBED_PATH = "/embed/"

# The embed's cookies, each standing for one of the portal's (settings) inside EMBED_PATH.
EMBED_COOKIES = {
    "SESSION_COOKIE_NAME": "kyvs_embed_session",
    "CSRF_COOKIE_NAME": "kyvs_embed_csrftoken",
    "LANGUAGE_COOKIE_NAME": "kyvs_embed_language",
}


def allow_framing(response, origins):
    """Let pages of exactly `origins` (``https://host[:port]``, providers/origins.py) frame
    `response`, and no others; with no origins, nobody. Returns the response."""
    origins = list(origins)
    response.frame_ancestors = origins or ["'none'"]
    response.xframe_options_exempt = bool(origins)
    return response


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, with `frame-ancestors` replaced for a response that
    `allow_framing` marked (the extension point django-csp documents: get_policy_parts)."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        ancestors = getattr(response, "frame_ancestors", None)
        if ancestors is not None and not report_only:
            parts.replace = {**(parts.replace or {}), "frame-ancestors": ancestors}
        return parts


class PartitionedMorsel(Morsel):
    """A cookie with the `Partitioned` attribute (CHIPS), which Python's http.cookies, and
    so Django, cannot write before Python 3.14."""

    def OutputString(self, attrs=None) -> str:  # noqa: N802 (Morsel's own name)
        return super().OutputString(attrs) + "; Partitioned"


def _embed_cookie(name: str, portal: Morsel) -> PartitionedMorsel:
    morsel = PartitionedMorsel()
    morsel.set(name, portal.value, portal.coded_value)
    morsel.update({key: value for key, value in portal.items() if value != ""})
    morsel.update({"path": EMBED_PATH, "samesite": "None", "secure": True})
    return morsel


class EmbedCookiesMiddleware:
    """Under EMBED_PATH, Django's session, CSRF and language cookies are the embed's own
    (EMBED_COOKIES): read from there, written there with `Path=/embed/; SameSite=None;
    Secure; Partitioned`. The portal's cookies are hidden from embed pages, so a session of
    the hosted portal can never be used inside a frame. Goes before SessionMiddleware, so it
    renames the cookies before anyone reads them and after everyone has written them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(EMBED_PATH):
            return self.get_response(request)
        names = [(getattr(settings, setting), embed) for setting, embed in EMBED_COOKIES.items()]
        hidden = {portal for portal, _embed in names} | {embed for _portal, embed in names}
        cookies = {key: value for key, value in request.COOKIES.items() if key not in hidden}
        for portal, embed in names:
            if embed in request.COOKIES:
                cookies[portal] = request.COOKIES[embed]
        request.COOKIES = cookies
        response = self.get_response(request)
        for portal, embed in names:
            written = response.cookies.pop(portal, None)
            if written is not None:
                response.cookies[embed] = _embed_cookie(embed, written)
        return response
