"""Shared set-up for the REST API tests (imported by their modules; not a test file).

A client that sends a user's bearer token and JSON, and the arm words an unblinded answer would contain.
"""

from __future__ import annotations

import json
import re

from django.test import Client

from trialdesk.api.tokens import create_token
from trialdesk.apps.ledger.services import Context
from trialdesk.protocol import load_protocol


def token_for(user, days: int = 30) -> str:
    token, _ = create_token(user, Context(actor="setup", channel="command"), name="tests", days=days)
    return token


class Api:
    """Django's test client speaking JSON with ``Authorization: Bearer <token>``."""

    def __init__(self, user=None, token: str | None = None) -> None:
        self.client = Client()
        self.token = token if token is not None else (token_for(user) if user is not None else "")

    def _headers(self, headers: dict | None) -> dict:
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return sent | (headers or {})

    def get(self, path: str, headers: dict | None = None, **query):
        return self.client.get(path, query, headers=self._headers(headers))

    def post(self, path: str, body: object = None, headers: dict | None = None):
        data = json.dumps(body) if body is not None else ""
        return self.client.post(path, data, content_type="application/json", headers=self._headers(headers))

    def put(self, path: str, body: object, headers: dict | None = None):
        return self.client.put(path, json.dumps(body), content_type="application/json",
                               headers=self._headers(headers))  # fmt: skip


def arm_pattern() -> re.Pattern:
    """Arm labels anywhere, arm codes as whole words (as the web blinding tests match them)."""
    words = []
    for arm in load_protocol().arms:
        words += [re.escape(arm.label), rf"\b{re.escape(arm.code)}\b"]
    return re.compile("|".join(words), re.IGNORECASE)
