"""The interface language per user.

LocaleMiddleware picks a language from the language cookie or the browser's Accept-Language header; once the
user is known, UserLanguageMiddleware (after AuthenticationMiddleware) switches to the language the user
chose, which is kept in UserPreference so it follows them to another browser. The choice is cached in the
session so that only the first request of a session reads the preference table.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import UserPreference

SESSION_KEY = "trialdesk_language"
CODES = {code for code, _ in settings.LANGUAGES}


def preferred_language(user) -> str:
    """The user's chosen language code, or "" when they have not chosen one."""
    pref = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return pref if pref in CODES else ""


class UserLanguageMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = request.session.get(SESSION_KEY)
            if language is None:
                language = preferred_language(user)
                request.session[SESSION_KEY] = language
            if language in CODES:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


@login_required
@require_POST
def set_language(request):
    """Store the chosen language for this user (and in the cookie, so the login page keeps it), then go
    back to the page the switch was on. That page comes from the Referer header, not from a field in the
    form: a field would echo the page's address (which can hold a trial id) into every page, error pages
    included."""
    language = request.POST.get("language", "")
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/"
    response = HttpResponseRedirect(target)
    if language not in CODES:
        return response
    UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite="Lax", secure=settings.SESSION_COOKIE_SECURE, httponly=True)
    return response
