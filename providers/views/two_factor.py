import base64
import math
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyvs import limits
from providers.access import needs_two_factor
from providers.forms import CodeForm
from providers.models import BackupCodeDevice

_NEW_CODES = "kyvs.backup_codes"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _qr_svg(data: str) -> str:
    """The QR code as inline SVG, drawn here: no script and no outside service sees the
    secret."""
    svg = segno.make(data, error="m").svg_inline(
        scale=5, dark="#10243e", light="#ffffff", omitsize=False
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the data is our TOTP URL


@never_cache
@login_required
def setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        if not user.is_verified():
            return redirect_to_verify(request)
        backup = BackupCodeDevice.objects.filter(user=user).first()
        return render(
            request,
            "registration/two_factor_done.html",
            {"device": confirmed, "backup": backup, "required": needs_two_factor(user)},
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            backup, _created = BackupCodeDevice.objects.get_or_create(
                user=user, defaults={"name": "Backup codes", "confirmed": True}
            )
            request.session[_NEW_CODES] = backup.generate_codes()
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect(f"{_backup_codes_url()}?{urlencode({'next': _next_url(request)})}")
        form.add_error("code", _("That code is not right. Check the time on your phone."))
    secret = device.bin_key
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": base64.b32encode(secret).decode().rstrip("="),
            "next": _next_url(request),
            "required": needs_two_factor(user),
        },
        status=422 if form.errors else 200,
    )


def _backup_codes_url() -> str:
    return reverse("two_factor_backup_codes")


def redirect_to_verify(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': _next_url(request)})}")


def _devices_for(user, code: str) -> list:
    """The person's confirmed devices that `code` can be for, rows locked (the caller holds
    a transaction): six digits are an authenticator app's code, anything else a backup code.
    So a typo in one is charged to that device's throttle only, never to every device."""
    kind = TOTPDevice if len(code) == 6 and code.isdigit() else BackupCodeDevice
    devices = devices_for_user(user, confirmed=True, for_verify=True)
    return [device for device in devices if isinstance(device, kind)]


def _throttled_until(devices):
    """When the earliest of `devices` throttled after wrong codes (django-otp's
    ThrottlingMixin: 1, 2, 4, 8... seconds after each successive failure) lets a code be
    tried again; None if one may be tried now."""
    waits = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if allowed:
            return None
        waits.append((data or {}).get("locked_until"))
    return min((w for w in waits if w is not None), default=None)


@never_cache
@login_required
def verify(
    request: HttpRequest, template_name: str = "registration/two_factor_verify.html"
) -> HttpResponse:
    """The second step of signing in: a code from the app, or one backup code.

    A wrong code counts once against the person: against the one device it can be for
    (django-otp throttles that device) and against SECOND_FACTOR_TRIES_PER_USER
    (kyvs/limits.py). A right code from any device clears every device's count. A refusal
    that is a throttle says so, and when to try again."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        wait = limits.wait(limits.SECOND_FACTOR_TRIES_PER_USER, str(user.pk))
        if wait:
            raise limits.RateLimited(limits.SECOND_FACTOR_TRIES_PER_USER, wait)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        with transaction.atomic():
            candidates = _devices_for(user, code)
            throttled_until = _throttled_until(candidates)
            device = None
            if throttled_until is None:
                device = next((d for d in candidates if d.verify_token(code)), None)
            if device is not None:
                for other in devices_for_user(user, confirmed=True, for_verify=True):
                    other.throttle_reset()
        if device is not None:
            limits.clear(limits.SECOND_FACTOR_TRIES_PER_USER, str(user.pk))
            otp_login(request, device)
            if isinstance(device, BackupCodeDevice):
                messages.warning(
                    request,
                    _("You used a backup code; %(n)d are left.") % {"n": device.remaining},
                )
            return redirect(_next_url(request))
        if throttled_until is not None:
            form.add_error(
                "code",
                _(
                    "Too many wrong codes were typed. To keep your account safe, try again "
                    "at %(time)s."
                )
                % {"time": timezone.localtime(throttled_until).strftime("%H:%M:%S")},
            )
            status = 429
        else:
            limits.count(limits.SECOND_FACTOR_TRIES_PER_USER, str(user.pk))
            form.add_error("code", _("That code is not right, or was used already."))
    response = render(
        request,
        template_name,
        {"form": form, "next": _next_url(request)},
        status=status if status != 200 else (422 if form.errors else 200),
    )
    if status == 429:
        seconds = (throttled_until - timezone.now()).total_seconds()
        response["Retry-After"] = str(max(math.ceil(seconds), 1))
    return response


@never_cache
@login_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Shows freshly made backup codes once; afterwards only how many are left."""
    codes = request.session.pop(_NEW_CODES, None)
    backup = BackupCodeDevice.objects.filter(user=request.user).first()
    return render(
        request,
        "registration/two_factor_backup_codes.html",
        {"codes": codes, "backup": backup, "next": _next_url(request)},
    )


@require_POST
@login_required
def new_backup_codes(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        return redirect_to_verify(request)
    backup, _created = BackupCodeDevice.objects.get_or_create(
        user=request.user, defaults={"name": "Backup codes", "confirmed": True}
    )
    request.session[_NEW_CODES] = backup.generate_codes()
    return redirect(_backup_codes_url())
