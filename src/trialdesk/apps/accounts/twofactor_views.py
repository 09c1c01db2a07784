"""Enrolment (QR code and secret) and verification pages for TOTP two-factor authentication."""

from __future__ import annotations

import base64

import django_otp
import qrcode
import qrcode.image.svg
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialdesk.apps.ledger.services import Context, append

from .twofactor import confirmed_device

DEVICE_NAME = "authenticator app"


def _context(request) -> Context:
    return Context(actor=request.user.get_username(), channel="web")


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


def _to(name: str, request):
    return redirect(f"{reverse(name)}?{urlencode({'next': _next(request)})}")


def _qr_svg(url: str) -> str:
    # SVG drawn by the pure-Python qrcode package: no image library, no data: URL for the CSP to allow.
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def _audit(request, action: str, **change) -> None:
    with transaction.atomic():
        append(_context(request), action=action, entity="session", **change)


def _verify(request, device: TOTPDevice, token: str) -> tuple[TOTPDevice | None, str]:
    """Check ``token`` against ``device`` with django-otp's throttling; an error message when refused."""
    token = token.strip().replace(" ", "")
    allowed, details = device.verify_is_allowed()
    if not allowed:
        until = details.get("locked_until") if details else None
        wait = ""
        if until:
            wait = " " + _("Wait until %(time)s before trying again.") % {"time": f"{until:%H:%M:%S}"}
        return None, _("Too many wrong codes.") + wait
    if not (token.isdigit() and len(token) == device.digits):
        device.throttle_increment()
        digits = {"digits": device.digits}
        return None, _("Enter the %(digits)s-digit code your authenticator app shows now.") % digits
    verified = django_otp.verify_token(request.user, device.persistent_id, token)
    if verified is None:
        return None, _("That code is not right. Check the time on your phone and enter the code shown now.")
    return verified, ""


@never_cache
@login_required
@sensitive_post_parameters("token")
def enrol(request):
    """Set up an authenticator app: scan the QR code (or type the secret), then confirm with a code."""
    if confirmed_device(request.user) is not None:
        return _to("two-factor-verify", request)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    error = ""
    if request.method == "POST":
        verified, error = _verify(request, device, request.POST.get("token", ""))
        if verified is not None:
            with transaction.atomic():
                verified.confirmed = True
                verified.save(update_fields=["confirmed"])
                append(_context(request), action="2fa-enrol", entity="user",
                       entity_id=request.user.get_username(), new={"device": DEVICE_NAME})
            django_otp.login(request, verified)
            request.session.cycle_key()
            return redirect(_next(request))
        _audit(request, "2fa-failed", field="enrol")
    secret = base64.b32encode(device.bin_key).decode("ascii")
    return render(request, "accounts/two_factor_enrol.html", {
        "qr_svg": _qr_svg(device.config_url),
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
        "error": error,
        "next": _next(request),
    }, status=400 if error else 200)


@never_cache
@login_required
@sensitive_post_parameters("token")
def verify(request):
    """After the password: the code from the authenticator app, once per session."""
    device = confirmed_device(request.user)
    if device is None:
        return _to("two-factor-enrol", request)
    if request.user.is_verified():
        return redirect(_next(request))
    error = ""
    if request.method == "POST":
        verified, error = _verify(request, device, request.POST.get("token", ""))
        if verified is not None:
            django_otp.login(request, verified)
            # A new session key at the privilege change, as at the password step.
            request.session.cycle_key()
            _audit(request, "2fa-verified")
            return redirect(_next(request))
        _audit(request, "2fa-failed", field="verify")
    return render(request, "accounts/two_factor_verify.html", {"error": error, "next": _next(request)},
                  status=400 if error else 200)
