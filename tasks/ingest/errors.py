"""One error type for bad input: it names the file, the place in it and the rule broken."""

from __future__ import annotations


class InputError(ValueError):
    """An input file breaks a rule; the message names the file, the place and the rule."""

    def __init__(self, file: str, place: str, rule: str, detail: str = "") -> None:
        self.file = file
        self.place = place
        self.rule = rule
        self.detail = detail
        message = f"{file}: {place}: {rule}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class InputErrors(ValueError):
    """Several input problems reported at once (strict readers collect every deviation)."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"{len(errors)} problem(s) in input:\n{lines}")
