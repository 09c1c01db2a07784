"""Security headers and HTTPS settings shared by every page (see docs/security.md).

The Content Security Policy comes from django-csp; Django's SecurityMiddleware sends HSTS, nosniff,
Referrer-Policy and Cross-Origin-Opener-Policy. Neither sends Permissions-Policy or
Cross-Origin-Resource-Policy, so ``HeadersMiddleware`` adds those two fixed headers (a few lines, not
worth another dependency) and keeps signed-in pages, which may show identifying data, out of caches.
"""

from __future__ import annotations

from datetime import timedelta

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

#: How long a username+address pair stays locked out after too many failed logins.
LOCKOUT_COOL_OFF = timedelta(minutes=15)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # Scripts and <style> elements only from our own static files, or inline with this response's
        # nonce ({{ CSP_NONCE }} in templates); never 'unsafe-inline'.
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # Style *attributes* cannot carry a nonce. intervention/home.html sizes its attendance bars with
        # style="height: …"; allowing attributes only (not <style> elements or scripts) keeps that
        # working. Drop this line once no template uses style="" (docs/security.md).
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
    },
}

#: Browser features the app never uses; a page (or an injected script) cannot switch them on.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture", "encrypted-media",
        "fullscreen", "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
        "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
        "xr-spatial-tracking",
    )
)

HSTS_SECONDS = 365 * 24 * 3600


def https_settings(enabled: bool) -> dict[str, object]:
    """Settings for a deployment behind TLS (``TRIALDESK_HTTPS=1``); empty otherwise.

    The ``__Host-`` cookie prefix makes browsers refuse the cookie unless it is Secure, host-only and
    path ``/``, so a sibling subdomain cannot plant a session or CSRF cookie.
    """
    if not enabled:
        return {}
    return {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": HSTS_SECONDS,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,  # preloading is a one-way decision for the hospital's domain
        # TLS ends at the reverse proxy, which must set this header (and strip it from clients).
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        "LANGUAGE_COOKIE_SECURE": True,
    }


class HeadersMiddleware:
    """Permissions-Policy and Cross-Origin-Resource-Policy on every response; no caching when signed in."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response.headers:
            from django.utils.cache import add_never_cache_headers

            add_never_cache_headers(response)
        return response


def context(request) -> dict[str, object]:
    """Template context: whether two-factor authentication is off (the demo server); the request id."""
    from django.conf import settings

    return {
        "two_factor_off": not settings.TRIALDESK_REQUIRE_2FA,
        "request_id": getattr(request, "request_id", ""),
    }
