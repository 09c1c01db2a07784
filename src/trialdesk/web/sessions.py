"""Sessions that expire after inactivity without a database write on every request.

Django's ``SESSION_SAVE_EVERY_REQUEST`` pushes the expiry forward by writing the session row on every
request, a write transaction even for a page view (three statements; on SQLite the one writer's lock).
Here the expiry moves forward at most once per ``REFRESH_SECONDS``: a session still ends between
``SESSION_COOKIE_AGE - REFRESH_SECONDS`` and ``SESSION_COOKIE_AGE`` after the last request.
"""

from __future__ import annotations

import time

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

REFRESH_SECONDS = 60
#: Session key holding when the expiry was last pushed forward (seconds since the epoch).
REFRESHED = "_trialdesk_refreshed"


class SessionMiddleware(DjangoSessionMiddleware):
    def process_response(self, request, response):
        session = getattr(request, "session", None)
        # Only a session that was read (a signed-in user's) and holds data is kept alive.
        if session is not None and session.accessed and not session.is_empty():
            now = time.time()
            if now - session.get(REFRESHED, 0) >= REFRESH_SECONDS:
                session[REFRESHED] = now
        return super().process_response(request, response)
