"""Errors a user can act on.

Anything raised as a :class:`UserError` is bad input or a refused operation: the command line prints
its message as one line on stderr and exits with status 2; the web shows it at the field or page.
Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input or a refused operation, with a message that says exactly what is wrong."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        message = super().__str__()
        return f"{self.code} {message}" if self.code else message


class ProblemsError(UserError):
    """Several problems found at once (a protocol check, an import): one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _translation():
    """Django's translation module when Django runs with its settings (never imported from here)."""
    import sys

    translation = sys.modules.get("django.utils.translation")
    settings = getattr(sys.modules.get("django.conf"), "settings", None)
    return translation if translation is not None and settings is not None and settings.configured else None


def gettext(message: str) -> str:
    """``message`` in the active language when Django runs with its settings; as written otherwise.

    For the Django-free modules of the apps (a session schedule, a register extract's reader): they mark
    their refusals with this without importing Django, and give the English text wherever Django is not
    loaded.
    """
    translation = _translation()
    return translation.gettext(message) if translation else message


def ngettext(singular: str, plural: str, count: int) -> str:
    """:func:`gettext` for a message with a singular and a plural form."""
    translation = _translation()
    if translation:
        return translation.ngettext(singular, plural, count)
    return singular if count == 1 else plural
