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
