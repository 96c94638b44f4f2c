"""The public side of a share card: the page at /s/<token>/ and its two pictures.

A stranger opens these, so they set no cookie and never touch a session: no sign-in, no
CSRF token, no language cookie (the page speaks the card's language). They are live: a
deleted or expired share answers 410, pictures included. While the share lives, browsers
and proxies may keep a copy briefly and never past the link's end (Cache-Control): the page
for a minute, the pictures (which never change) for five, so that a deletion is seen
everywhere within minutes.
"""

from contextlib import suppress

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from kyvs.http import sessionless
from kyvs.outages import CACHE_ERRORS
from verification import share_card
from verification.citizen import share_sentence
from verification.models import StatusShare, VaccinationStatus

PAGE_CACHE_SECONDS = 60
PICTURE_CACHE_SECONDS = 300
SIZES = {"1200x630": share_card.CardSize.LINK_PREVIEW, "1080x1080": share_card.CardSize.SQUARE}


def _cache_for(response: HttpResponse, item: StatusShare, now, longest: int) -> HttpResponse:
    seconds = min(item.seconds_left(now), longest)
    response["Cache-Control"] = f"public, max-age={seconds}"
    return response


def _gone(request: HttpRequest, language: str) -> HttpResponse:
    with translation.override(language):
        response = render(request, "citizen/share_gone.html", status=410)
    response["Cache-Control"] = "no-store"
    return response


@sessionless
@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    item = StatusShare.objects.for_token(token)
    if item is None:
        raise Http404
    if not item.is_live(now):
        return _gone(request, item.language)
    page_url = request.build_absolute_uri(reverse("share_page", args=[token]))
    image_url = request.build_absolute_uri(reverse("share_image_wide", args=[token]))
    with translation.override(item.language):
        status = VaccinationStatus(item.status)
        response = render(
            request,
            "citizen/share_page.html",
            {
                "share": item,
                "token": token,
                "status": status,
                "sentence": share_sentence(item),
                "page_url": page_url,
                "image_url": image_url,
                "language": item.language,
            },
        )
    return _cache_for(response, item, now, PAGE_CACHE_SECONDS)


@sessionless
@require_GET
def share_image(request: HttpRequest, token: str, size: str) -> HttpResponse:
    now = timezone.now()
    item = StatusShare.objects.for_token(token)
    if item is None or size not in SIZES:
        raise Http404
    if not item.is_live(now):
        return _gone(request, item.language)
    page_url = request.build_absolute_uri(reverse("share_page", args=[token]))
    key = f"kyvs.share-card:{item.public_id}:{size}:{page_url}"
    try:
        png = cache.get(key)
    except CACHE_ERRORS:
        png = None
    if png is None:
        png = share_card.render_card(
            status=item.status,
            language=item.language,
            checked_on=timezone.localdate(item.checked_at),
            first_name=item.first_name or None,
            share_url=page_url,
            size=SIZES[size],
        )
        with suppress(*CACHE_ERRORS):
            cache.set(key, png, min(item.seconds_left(now), PICTURE_CACHE_SECONDS))
    response = HttpResponse(png, content_type="image/png")
    return _cache_for(response, item, now, PICTURE_CACHE_SECONDS)
