"""Free text the audit trail keeps and shows: the names of actors and the reasons given.

Names are printed in terminals and shown in consoles, so characters that can make a text
look like another are refused: control characters (C0, DEL and C1; a reason may hold tabs
and line feeds), the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
U+2066-U+2069) and direction marks (U+200E, U+200F, U+061C), which reorder what follows
them on screen, and invisible characters with no place in a name or a reason: the zero
width space (U+200B), the line and paragraph separators (U+2028, U+2029), the word joiner
and invisible operators (U+2060-U+2064), the deprecated format characters (U+206A-U+206F),
the byte order mark (U+FEFF) and the interlinear annotation marks (U+FFF9-U+FFFB). The
zero width joiner and non-joiner stay allowed: scripts and emoji need them.

The patterns are written with escapes that Python, JSON Schema and the validator's regex
engine all read the same way.
"""

from __future__ import annotations

import re
import unicodedata

CONTROLS = r"\x00-\x08\x0b-\x1f\x7f-\x9f"  # every control but tab and line feed
LINE_CONTROLS = r"\t\n"
INVISIBLE = (r"\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
             r"\ufff9-\ufffb")

ACTOR_PATTERN = rf"^[^{LINE_CONTROLS}{CONTROLS}{INVISIBLE}]+$"
REASON_PATTERN = rf"^[^{CONTROLS}{INVISIBLE}]*$"

_REFUSED = {
    ACTOR_PATTERN: re.compile(rf"[{LINE_CONTROLS}{CONTROLS}{INVISIBLE}]"),
    REASON_PATTERN: re.compile(rf"[{CONTROLS}{INVISIBLE}]"),
}


def refused_character(text: str, pattern: str) -> str | None:
    """The first character of `text` that `pattern` (one of the two above) refuses, named
    by its code point, e.g. "U+202E RIGHT-TO-LEFT OVERRIDE"; None if there is none."""
    found = _REFUSED[pattern].search(text)
    if found is None:
        return None
    char = found.group()
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}, a control character"
