"""The Swagger UI page with a Content Security Policy nonce on its scripts.

django-ninja's own template loads Swagger UI from its static files (no CDN once ``ninja`` is an
installed app); this one adds the page's CSP nonce and turns off Swagger's online validator badge,
which would fetch from validator.swagger.io.
"""

from __future__ import annotations

import json

from django.shortcuts import render
from ninja.openapi.docs import Swagger


class SelfHostedSwagger(Swagger):
    template = "api/swagger.html"

    def __init__(self) -> None:
        super().__init__(settings={"validatorUrl": None, "persistAuthorization": False})

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {"swagger_settings": json.dumps(self.settings), "api": api}
        return render(request, self.template, context)
