"""Bearer-token authentication for the API (tokens only: no session cookies, so no CSRF to forge)."""

from __future__ import annotations

from ninja.security import HttpBearer

from .tokens import user_for


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = user_for(token.strip())
        if user is None:
            return None
        # The rest of the app (allowed(), logs, security headers) reads request.user.
        request.user = user
        return user
