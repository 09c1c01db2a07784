"""Demo set-up: the embedded protocol and one login per role, so every page can be tried at once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import transaction

from trialdesk.apps.accounts.roles import Role
from trialdesk.apps.accounts.services import create_user, grant_role
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import install_protocol

#: Shown on screen by ``trialdesk demo``: demo data only, never for real participants.
DEMO_PASSWORD = "trialdesk-demo"  # noqa: S105 - printed on screen; demo data only


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    site_index: int | None = None  # index into the protocol's sites; None = all sites
    unblinded: bool = False
    personal_data: bool = False
    full_name: str = ""


DEMO_STAFF = (
    DemoLogin("coordinator", Role.COORDINATOR, 0, personal_data=True, full_name="Signe Coordinator"),
    DemoLogin("coordinator2", Role.COORDINATOR, 1, personal_data=True, full_name="Mads Coordinator"),
    DemoLogin("assessor", Role.ASSESSOR, 0, full_name="Anna Assessor"),
    DemoLogin("assessor2", Role.ASSESSOR, 1, full_name="Jonas Assessor"),
    DemoLogin("facilitator", Role.FACILITATOR, 0, full_name="Freja Facilitator"),
    DemoLogin("facilitator2", Role.FACILITATOR, 1, full_name="Karl Facilitator"),
    DemoLogin("fidelity", Role.FIDELITY_RATER, None, full_name="Fie Fidelity"),
    DemoLogin("datamanager", Role.DATA_MANAGER, None, full_name="Dorte Datamanager"),
    DemoLogin("statistician", Role.STATISTICIAN, None, full_name="Søren Statistician"),
    DemoLogin("investigator", Role.INVESTIGATOR, None, unblinded=True, full_name="Lene Investigator"),
    DemoLogin("monitor", Role.MONITOR, None, full_name="Mette Monitor"),
    DemoLogin("admin", Role.ADMIN, None, full_name="Ada Admin"),
)


def ensure_demo_key(data_dir: Path) -> None:
    """Give the demo a personal-data key when none is configured: a file beside the demo database
    (or the file TRIALDESK_PERSONAL_DATA_KEY_FILE names, made on first use).

    A real site sets TRIALDESK_PERSONAL_DATA_KEY(_FILE) to a key kept outside the database's backups.
    """
    if os.environ.get(keys.ENV_KEY):
        return
    path = Path(os.environ.get(keys.ENV_KEY_FILE) or data_dir / "personal-data.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    os.environ[keys.ENV_KEY_FILE] = str(path)


def prepare(protocol, context: Context) -> list[tuple[DemoLogin, str]]:
    """Install ``protocol`` and make sure every demo login exists; returns (login, site label) pairs."""
    install_protocol(protocol, context)
    sites = [Site.objects.get(code=s.code) for s in protocol.sites]
    User = get_user_model()
    out = []
    with transaction.atomic():
        for login in DEMO_STAFF:
            site = sites[login.site_index % len(sites)] if login.site_index is not None else None
            if not User.objects.filter(username=login.username).exists():
                user = create_user(login.username, DEMO_PASSWORD, context, full_name=login.full_name,
                                   check_password=False)
                grant_role(user, login.role, context, site=site, unblinded=login.unblinded,
                           personal_data=login.personal_data,
                           reason="demo login named unblinded" if login.unblinded else "")
            out.append((login, site.code if site else "all sites"))
    return out
