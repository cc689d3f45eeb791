"""Which characters stored text may hold, shared by every edge that accepts text.

Django-free, so the crisis rules (`crises/validation.py`) and the API fields both use it.
Identifiers, targets and labels appear in logs, terminals and admin tables: control
characters (ESC starts every ANSI escape sequence) and bidirectional embeddings, overrides and
isolates (which make text display in another order than it is stored) are refused there.
Free text keeps tab and line breaks (a browser's textarea sends CR LF), nothing else below
U+0020.
"""

import re

_C0_AND_DEL = "\x00-\x1f\x7f"
_C1 = "\x80-\x9f"  # U+009B is a one-character ANSI escape introducer
_BIDI = "\u202a-\u202e\u2066-\u2069"

_NOT_IN_IDENTIFIERS = re.compile(f"[{_C0_AND_DEL}{_C1}{_BIDI}]")
_NOT_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f{_C1}]")

# The longest reason an operator may give for an action (cancel, re-run, terminate).
REASON_MAX_LENGTH = 500


def identifier_error(value: str) -> str | None:
    """Return why `value` cannot be an identifier, target or label; None when it can."""
    found = _NOT_IN_IDENTIFIERS.search(value)
    if found is None:
        return None
    return (
        "Control characters and bidirectional overrides are not allowed "
        f"(found U+{ord(found.group()):04X})."
    )


def free_text_error(value: str) -> str | None:
    """Return why `value` cannot be free text; None when it can."""
    found = _NOT_IN_TEXT.search(value)
    if found is None:
        return None
    return (
        "Control characters other than tab and line breaks are not allowed "
        f"(found U+{ord(found.group()):04X})."
    )
