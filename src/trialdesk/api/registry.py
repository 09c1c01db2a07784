"""Every API operation with the permission it needs, declared where it is routed and enforced from there.

``ENDPOINTS`` lists (method, path, rule) for the whole API, so tests can enumerate it (the authorisation
matrix walks every endpoint × role × own/other site and compares the answer with :meth:`Rule.allows`).
The rule is not documentation beside the code: the route wrapper enforces it, and an operation on a
participant or query that forgets to look its object up through :func:`participant_for` /
:func:`query_for` fails loudly instead of answering unchecked.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Router

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.participants.models import Participant

from .errors import REFUSALS, forbidden, invalid, not_found

#: No value the trial records is anywhere near this; larger integers would overflow float and SQL columns.
LARGEST = 10**15

#: What a rule is checked against: a participant (and so their site), a query (its site), a site named in
#: the request, the trial as a whole (the action at any of the user's sites; lists are then scoped), or
#: nothing beyond a valid token (``self``: the caller's own account).
On = Literal["participant", "query", "site", "trial", "self"]

# The words of a rule, marked for the catalogue: the OpenAPI description states the rule in English, a
# refusal in the caller's language.
_WHERE = {
    "participant": gettext_noop("at the participant's site"), "query": gettext_noop("at the query's site"),
    "site": gettext_noop("at the site named"), "trial": gettext_noop("at one of your sites"), "self": "",
}  # fmt: skip
_NEEDS = gettext_noop("needs %(actions)s %(where)s")
_ONE_OF = gettext_noop("one of %(actions)s")
_AND = gettext_noop("and")
_VALID_TOKEN = gettext_noop("needs a valid token")


@dataclass(frozen=True)
class Rule:
    """The caller needs every action in ``actions`` and, if given, one of ``any_of``, on the object."""

    on: On
    actions: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    note: str = ""

    def allows(self, user: Any, obj: Any = None) -> bool:
        return all(allowed(user, action, obj) for action in self.actions) and (
            not self.any_of or any(allowed(user, action, obj) for action in self.any_of)
        )

    def needs(self, translate: Callable[[str], str] = _) -> str:
        """What the rule asks for, in the active language (``translate=str``: as written, in English)."""
        parts = list(self.actions)
        if self.any_of:
            parts.append(translate(_ONE_OF) % {"actions": ", ".join(self.any_of)})
        if not parts:
            return translate(_VALID_TOKEN)
        where = translate(_WHERE[self.on]) if _WHERE[self.on] else ""
        return (translate(_NEEDS) % {"actions": f" {translate(_AND)} ".join(parts), "where": where}).strip()

    @property
    def text(self) -> str:
        """The rule in the OpenAPI description."""
        return f"{self.needs(str)}." + (f" {self.note}" if self.note else "")

    def refusal(self, trial_id: str = "") -> str:
        if trial_id:
            return _("your role does not allow this for %(trial_id)s: %(needs)s.") % {
                "trial_id": trial_id, "needs": self.needs()}
        return _("your role does not allow this: %(needs)s.") % {"needs": self.needs()}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as served, e.g. /api/participants/{trial_id}
    rule: Rule
    name: str


ENDPOINTS: list[Endpoint] = []


def all_endpoints() -> list[Endpoint]:
    """Every endpoint of the API (routing it is what registers them)."""
    from . import main  # noqa: F401

    return list(ENDPOINTS)


class Routes:
    """A ninja router under ``prefix`` whose operations are registered with their rule."""

    def __init__(self, prefix: str, tag: str) -> None:
        self.prefix, self.tag = prefix, tag
        self.router = Router(tags=[tag])

    def _add(
        self, method: str, path: str, rule: Rule, statuses: tuple[int, ...], schema: Any, **options: Any
    ) -> Callable:
        def decorate(view: Callable) -> Callable:
            @functools.wraps(view)
            def run(request, *args, **kwargs):
                request.api_rule, request.api_checked = rule, False
                refuse_unstorable(kwargs)
                if rule.on in ("trial", "self"):
                    if not rule.allows(request.user):
                        raise forbidden(rule.refusal())
                    request.api_checked = True
                result = view(request, *args, **kwargs)
                if not request.api_checked:
                    raise RuntimeError(f"{view.__name__} answered without checking its rule")
                return result

            # Resolved annotations, so ninja reads the view's types whatever module the wrapper is in.
            run.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
            responses = {**REFUSALS}
            if schema is not None:
                responses.update(dict.fromkeys(statuses, schema))
            description = ((view.__doc__ or "").strip() + "\n\n" + rule.text).strip()
            self.router.api_operation(
                [method], path, response=responses, description=description,
                operation_id=f"{self.tag}_{view.__name__}", **options,
            )(run)  # fmt: skip
            ENDPOINTS.append(Endpoint(method, f"/api{self.prefix}{path}", rule, view.__name__))
            return run

        return decorate

    def get(self, path: str, *, rule: Rule, response: Any = None, **options: Any) -> Callable:
        return self._add("GET", path, rule, (200,), response, **options)

    def post(
        self, path: str, *, rule: Rule, response: Any = None, statuses: tuple[int, ...] = (201,), **options
    ) -> Callable:
        return self._add("POST", path, rule, statuses, response, **options)

    def put(self, path: str, *, rule: Rule, response: Any = None, **options: Any) -> Callable:
        return self._add("PUT", path, rule, (200,), response, **options)


def _checked(request) -> Rule:
    rule = getattr(request, "api_rule", None)
    if rule is None:
        raise RuntimeError("an API look-up outside a registered operation")
    request.api_checked = True
    return rule


def participant_for(request, trial_id: str) -> Participant:
    """The participant, if the operation's rule allows it; 404 when the caller may not even see them."""
    rule = _checked(request)
    participant = Participant.objects.select_related("site").filter(trial_id=trial_id).first()
    if participant is None or not rule.allows(request.user, participant):
        if participant is not None and allowed(request.user, "view-participants", participant):
            raise forbidden(rule.refusal(trial_id))
        raise not_found(_("no participant %(trial_id)s among yours") % {"trial_id": trial_id})
    return participant


def check_object(request, obj: Any, visible: bool, what: str) -> None:
    """The operation's rule on ``obj`` (a query, or a site named in the body); 404 unless ``visible``."""
    rule = _checked(request)
    if not rule.allows(request.user, obj):
        if visible:
            raise forbidden(rule.refusal())
        raise not_found(_("no %(what)s among yours") % {"what": what})


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return _("text may not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _("text must be valid Unicode (no lone surrogates)")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST:
        return _("number out of range (at most %(largest)s in size)") % {"largest": f"{LARGEST:.0e}"}
    return None


def _walk(value: Any, where: str):
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(str(key), where)
            yield from _walk(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}.{index}")
    elif (problem := _problem(value)) is not None:
        yield where, problem


def refuse_unstorable(arguments: dict[str, Any]) -> None:
    """Refuse (422) what no database column can hold: NUL characters, lone surrogates, huge integers.

    PostgreSQL rejects NUL in text and SQLite integers above 2**63 with errors that would otherwise
    surface as server errors, so they are turned away before any look-up.
    """
    for name, value in arguments.items():
        for where, problem in _walk(value, ""):
            raise invalid(where or name, problem)


def unseen(request, what: str) -> Exception:
    """404 for an object the caller cannot see (the same answer as for one that does not exist)."""
    _checked(request)
    return not_found(_("no %(what)s among yours") % {"what": what})
