"""The server-error page. Django's default renders ``500.html`` with no context; this one adds the
request id so a user can quote it, and still uses no context processors or database, which may be
what failed. 400/403/404 use Django's handlers with our templates (which never print the path)."""

from __future__ import annotations

from django.http import HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from .logs import current_request_id


@requires_csrf_token
def server_error(request, template_name: str = "500.html"):
    template = loader.get_template(template_name)
    return HttpResponseServerError(template.render({"request_id": current_request_id()}))
