"""Installing a protocol into the database: the one writer of protocol versions and sites."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.core.signals import request_finished, request_started
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.errors import UserError

from .models import ProtocolVersion, Site

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol


def install_protocol(protocol: Protocol, context: Context) -> ProtocolVersion:
    """Store ``protocol`` as the active version and create or update its sites; idempotent."""
    document: dict[str, Any] = protocol.model_dump(mode="json")
    with transaction.atomic():
        version = ProtocolVersion.objects.filter(content_hash=protocol.content_hash).first()
        if version is None:
            ProtocolVersion.objects.filter(active=True).update(active=False)
            version = ProtocolVersion.objects.create(
                content_hash=protocol.content_hash,
                trial_code=protocol.trial.code,
                version=protocol.trial.protocol_version,
                title=protocol.trial.title,
                document=document,
                loaded_at=clock.now(),
                loaded_by=context.actor,
                active=True,
            )
            append(context, action="install", entity="protocol", entity_id=version.content_hash,
                   new={"trial": version.trial_code, "version": version.version})
        elif not version.active:
            ProtocolVersion.objects.filter(active=True).update(active=False)
            version.active = True
            version.save(update_fields=["active"])
            append(context, action="activate", entity="protocol", entity_id=version.content_hash)
        for declared in protocol.sites:
            wanted = {"name": declared.name, "prefix": declared.prefix,
                      "recruitment_target": declared.recruitment_target}
            site = Site.objects.filter(code=declared.code).first()
            if site is None:
                site = Site.objects.create(code=declared.code, **wanted)
                append(context, action="create", entity="site", entity_id=site.code, new=wanted,
                       site=site.code)
                continue
            for name, value in wanted.items():
                if getattr(site, name) != value:
                    append(context, action="update", entity="site", entity_id=site.code, field=name,
                           old=getattr(site, name), new=value, reason="protocol amendment", site=site.code)
                    setattr(site, name, value)
            site.save()
    _load_active.cache_clear()
    if (pinned := _pinned.get()) is not None:
        pinned.clear()
    return version


@lru_cache(maxsize=1)
def _load_active(content_hash: str) -> Protocol:
    from trialdesk.protocol import Protocol

    version = ProtocolVersion.objects.get(content_hash=content_hash)
    return Protocol.model_validate(version.document)


#: The active hash as read once in the current unit of work (a request, a demo stage), or None when no
#: unit is open. A request used to read it up to four times; the protocol cannot change under a request
#: except by ``install_protocol``, which forgets it.
_pinned: ContextVar[dict[str, str] | None] = ContextVar("trialdesk_pinned_protocol", default=None)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Read the active protocol's hash at most once inside the block (requests open one each)."""
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


def _request_started(**_kwargs: Any) -> None:
    _pinned.set({})


def _request_finished(**_kwargs: Any) -> None:
    _pinned.set(None)


request_started.connect(_request_started, dispatch_uid="trialdesk-protocol-pin")
request_finished.connect(_request_finished, dispatch_uid="trialdesk-protocol-unpin")


def active_hash() -> str:
    """The active protocol's content hash, or "" when none is installed."""
    pinned = _pinned.get()
    if pinned is not None and "hash" in pinned:
        return pinned["hash"]
    found = ProtocolVersion.objects.filter(active=True).values_list("content_hash", flat=True).first() or ""
    if pinned is not None and found:
        pinned["hash"] = found
    return found


def active_protocol() -> Protocol:
    """The protocol the trial currently runs under (validated, cached per hash)."""
    content_hash = active_hash()
    if not content_hash:
        raise UserError(_("no protocol is installed: run `trialdesk demo` or install one first"))
    return _load_active(content_hash)
