"""Cadence's one error hierarchy (standard library only; every layer may import it).

Every failure the user can cause and fix (a bad file, a bad number, a missing model, an
output that cannot be written) is raised as a subclass of :class:`CadenceError` whose
message says, in one line, what went wrong and what to do. The command line prints it as
``cadence CMD: error: MESSAGE`` with exit code 2 (``cli/main.py``); Blender shows it in a
report. The existing classes keep their names and their second base (``ValueError`` or
``RuntimeError``) so code that catches those still works.
"""
from __future__ import annotations


class CadenceError(Exception):
    """A failure with a one-line message for the user."""


class OutputError(CadenceError, OSError):
    """An output file cannot be written (or would destroy something): ``output_file.py``."""

    def __str__(self) -> str:  # OSError's str would prefix "[Errno ...]"
        return str(self.args[0]) if self.args else ""


class LimitError(CadenceError, ValueError):
    """An input is outside a documented limit (docs/guide/troubleshooting.md#limits)."""


TRACEBACK = "Traceback (most recent call last):"


def without_traceback(message: object) -> str:
    """``message`` with an embedded Python traceback (Blender's operators put one in the
    errors they raise) cut down to its last line, the exception itself."""
    text = str(message)
    start = text.find(TRACEBACK)
    if start < 0:
        return text
    lines = [ln for ln in text[start + len(TRACEBACK):].splitlines() if ln.strip()]
    last = next((ln for ln in reversed(lines)
                 if not ln.startswith((" ", "\t")) and not ln.startswith("Location:")), "")
    return (text[:start] + last).strip()


def one_line(message: object) -> str:
    """``message`` on one line: an embedded traceback cut to its last line, newlines and
    runs of spaces collapsed to single spaces."""
    return " ".join(without_traceback(message).split())
