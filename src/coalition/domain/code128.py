"""Code 128, code set B: a card number as the bars a till's scanner reads (ISO/IEC 15417).

A symbol is: a quiet zone, START B (104), one symbol value per character (its ASCII code − 32), the check symbol
(START's value plus each data value times its position, 1-based, modulo 103), STOP and a quiet zone. Every symbol
is 11 modules wide in three bars and three spaces (STOP: 13 modules, four bars), written here as six (seven)
digits of widths, bar first. Set B holds ASCII 32–127 printable characters, which covers every card number.
"""

from __future__ import annotations

from dataclasses import dataclass

from coalition.domain.errors import InvalidInput

# The widths of symbols 0–106, bar first (the standard's table).
PATTERNS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)  # fmt: skip
START_B = 104
STOP = 106
QUIET_MODULES = 10  # the quiet zone each side: at least 10 modules
MAX_LENGTH = 48


@dataclass(frozen=True, slots=True)
class Barcode:
    text: str
    values: tuple[int, ...]  # START B, the data, the check symbol, STOP
    widths: str  # the modules of every bar and space in turn, bar first, without the quiet zones

    @property
    def modules(self) -> int:
        return sum(int(width) for width in self.widths)

    def bars(self) -> tuple[tuple[int, int], ...]:
        """Each bar as (its first module, its width), counted from the start of the symbol (after the quiet zone)."""
        found: list[tuple[int, int]] = []
        position = 0
        for index, width in enumerate(self.widths):
            if index % 2 == 0:
                found.append((position, int(width)))
            position += int(width)
        return tuple(found)


def check_value(values: list[int] | tuple[int, ...]) -> int:
    """The check symbol of START and data `values`: START + Σ value × position, modulo 103."""
    start, *data = values
    return (start + sum(value * position for position, value in enumerate(data, start=1))) % 103


def encode_b(text: str, *, field: str = "text") -> Barcode:
    if not 1 <= len(text) <= MAX_LENGTH:
        raise InvalidInput(f"a barcode holds 1 to {MAX_LENGTH} characters", field=field)
    if any(not 32 <= ord(char) <= 126 for char in text):
        raise InvalidInput("code set B holds printable ASCII characters only", field=field)
    values = [START_B, *(ord(char) - 32 for char in text)]
    values.append(check_value(values))
    values.append(STOP)
    return Barcode(text, tuple(values), "".join(PATTERNS[value] for value in values))


def decode_b(widths: str) -> str:
    """The text of a set-B symbol read back from its widths (what a scanner does), refusing a wrong check symbol."""
    if len(widths) < 19 or (len(widths) - 7) % 6:
        raise InvalidInput("not a Code 128 symbol", field="widths")
    lookup = {pattern: value for value, pattern in enumerate(PATTERNS)}
    values = [lookup.get(widths[index : index + 6], -1) for index in range(0, len(widths) - 7, 6)]
    if widths[-7:] != PATTERNS[STOP] or not values or values[0] != START_B or -1 in values:
        raise InvalidInput("not a Code 128 set B symbol", field="widths")
    *symbol, check = values
    if check_value(symbol) != check:
        raise InvalidInput("the check symbol does not match", field="widths")
    return "".join(chr(value + 32) for value in symbol[1:])
