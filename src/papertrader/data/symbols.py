"""What a tradable symbol may look like, checked before anything is written under its name.

Upper-case letters, digits and ``. - ^ =`` (``BRK.B``, ``BRK-B``, ``RY.TO``, ``^GSPC``, ``EURUSD=X``), at most
15 characters, starting with a letter, a digit or ``^``. Anything else (``<none>``, the quarantine's marker
for rows without a symbol; a right-to-left override; a path-sized name) is refused: it would be stored as a
tradable name, shown on the dashboard, or break the lake's directory layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from papertrader.core.errors import DataError

MAX_SYMBOL_LENGTH: Final = 15
_SYMBOL: Final = re.compile(rf"[A-Z0-9^][A-Z0-9.\-^=]{{0,{MAX_SYMBOL_LENGTH - 1}}}")
RULE: Final = f"upper-case letters, digits and . - ^ =, at most {MAX_SYMBOL_LENGTH} characters (e.g. AAPL, BRK.B)"


def is_symbol(value: str) -> bool:
    """Whether the text is a symbol the lake may store."""
    return _SYMBOL.fullmatch(value) is not None


def check_symbols(values: Iterable[str], where: str = "") -> None:
    """Refuse every symbol that breaks the rule, naming them all (shortened), before anything is written."""
    bad = sorted({v for v in values if not is_symbol(v)})
    if bad:
        shown = ", ".join(ascii(v if len(v) <= 20 else v[:20] + "...") for v in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        place = f" in {where}" if where else ""
        raise DataError(f"invalid symbol(s){place}: {shown}{more}; a symbol has {RULE}; nothing was imported")
