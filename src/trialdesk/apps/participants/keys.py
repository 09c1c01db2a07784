"""The personal-data key: read from outside the database, never stored in it.

``TRIALDESK_PERSONAL_DATA_KEY`` holds a Fernet key (urlsafe base64, 32 bytes), or
``TRIALDESK_PERSONAL_DATA_KEY_FILE`` names a file holding one. The duplicate-detection HMAC key is
derived from it with HKDF under its own label, so one secret is kept but the two uses never share a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _

ENV_KEY = "TRIALDESK_PERSONAL_DATA_KEY"
ENV_KEY_FILE = "TRIALDESK_PERSONAL_DATA_KEY_FILE"


def _key_text() -> str:
    if text := os.environ.get(ENV_KEY, "").strip():
        return text
    if path := os.environ.get(ENV_KEY_FILE, "").strip():
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise UserError(
                _("cannot read the personal-data key file named in %(variable)s: %(problem)s") % {
                    "variable": ENV_KEY_FILE, "problem": error.strerror}
            ) from None
    raise UserError(
        _("no personal-data key: set %(variable)s to a Fernet key, or %(file_variable)s to a file holding "
          "one (outside the database); create one with %(command)s") % {
            "variable": ENV_KEY, "file_variable": ENV_KEY_FILE,
            "command": '`python -c "from cryptography.fernet import Fernet; '
                       'print(Fernet.generate_key().decode())"`'}
    )


@lru_cache(maxsize=4)
def _tools(text: str) -> tuple[Fernet, bytes]:
    try:
        fernet = Fernet(text.encode())
    except ValueError:
        raise UserError(
            _("the personal-data key (%(variable)s / %(file_variable)s) is not a valid Fernet key (32 bytes, "
              "urlsafe base64)") % {"variable": ENV_KEY, "file_variable": ENV_KEY_FILE}
        ) from None
    raw = base64.urlsafe_b64decode(text.encode())
    mac_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"trialdesk personal-data duplicate detection"
    ).derive(raw)
    return fernet, mac_key


def encrypt(value: str) -> str:
    fernet, _mac_key = _tools(_key_text())
    return fernet.encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    if not token:
        return ""
    fernet, _mac_key = _tools(_key_text())
    try:
        return fernet.decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise UserError(
            _("personal data cannot be decrypted with the configured key (wrong key for this database?)")
        ) from None


def fingerprint(normalised: str) -> str:
    """Keyed HMAC-SHA256 of a normalised identifier: equal people match without decrypting anything."""
    _fernet, mac_key = _tools(_key_text())
    return hmac.new(mac_key, normalised.encode(), hashlib.sha256).hexdigest()
