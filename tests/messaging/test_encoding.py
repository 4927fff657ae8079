"""Exact segment counts at the limits (COMPLIANCE.md: GSM-7 160/153 with 2-septet extension
characters never split; UCS-2 70/67 with surrogate pairs never split)."""
import pytest

from textpilot.messaging.encoding import (
    GSM7,
    UCS2,
    count_segments,
    replace_non_gsm,
    split_segments,
    suggest_replacements,
)

CYRILLIC = "ж"  # outside GSM-7, inside the BMP: 1 UCS-2 unit
EMOJI = "😀"  # outside the BMP: a surrogate pair, 2 UCS-2 units


@pytest.mark.parametrize(
    "text, segments",
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * (153 * 2 + 1), 3),
        ("a" * 153 * 3, 3),
        ("a" * (153 * 3 + 1), 4),
        ("a" * 153 * 10, 10),
    ],
)
def test_gsm7_limits(text, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (GSM7, len(text), segments)
    assert [len(part) for part in split_segments(text)] == _expected_parts(len(text), 160, 153)


def _expected_parts(length, single, per_part):
    if length <= single:
        return [length]
    return [per_part] * (length // per_part) + ([length % per_part] if length % per_part else [])


def test_extension_characters_count_two_septets():
    for character in "^{}\\[]~|€\f":
        count = count_segments("a" * 158 + character)
        assert (count.encoding, count.characters, count.units, count.segments) == (GSM7, 159, 160, 1), repr(character)
        assert count_segments("a" * 159 + character).segments == 2, repr(character)


def test_extension_character_at_position_153_moves_the_escape_pair_to_the_next_part():
    # 152 septets + € (ESC + e) would be 154: the pair goes whole to part 2, part 1 keeps 152.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306  # 306 = 2 × 153, yet it needs a third segment
    parts = split_segments(text)
    assert [len(part) for part in parts] == [152, 152, 1]
    assert parts[1].startswith("€")
    assert count_segments(text).segments == 3


def test_extension_character_ending_exactly_at_153_stays_in_the_part():
    text = "a" * 151 + "€" + "a" * 153
    assert [len(part) for part in split_segments(text)] == [152, 153]
    assert split_segments(text)[0].endswith("€")
    assert count_segments(text).segments == 2


@pytest.mark.parametrize(
    "text, units, segments",
    [
        (CYRILLIC * 70, 70, 1),
        (CYRILLIC * 71, 71, 2),
        (CYRILLIC * 67 * 2, 134, 2),
        (CYRILLIC * (67 * 2 + 1), 135, 3),
        (CYRILLIC * 68 + EMOJI, 70, 1),
        (CYRILLIC * 69 + EMOJI, 71, 2),
    ],
)
def test_ucs2_limits(text, units, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (UCS2, units, segments)
    assert count.non_gsm_characters == tuple(dict.fromkeys(c for c in text))


def test_emoji_at_the_67_unit_boundary_is_not_split():
    # 66 units + a surrogate pair would be 68: the emoji starts part 2.
    text = CYRILLIC * 66 + EMOJI + CYRILLIC * 66
    count = count_segments(text)
    assert (count.units, count.segments) == (134, 3)  # 134 = 2 × 67, yet three parts
    parts = split_segments(text)
    assert [len(part.encode("utf-16-le")) // 2 for part in parts] == [66, 67, 1]
    assert parts[1].startswith(EMOJI)


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2():
    text = "a" * 100 + "’"
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments, count.non_gsm_characters) == (UCS2, 101, 2, ("’",))
    assert count_segments(text.replace("’", "'")).segments == 1


def test_non_gsm_characters_are_distinct_in_order_of_appearance():
    assert count_segments("b😀a’😀’`").non_gsm_characters == ("😀", "’", "`")


@pytest.mark.parametrize(
    "character, gsm",
    [("@", True), ("£", True), ("Ç", True), ("ç", False), ("é", True), ("á", False), ("§", True),
     ("\f", True), ("\n", True), ("\t", False), ("`", False), ("¤", True), ("$", True), ("€", True), ("Δ", True),
     # NUL and private-use characters fill the fast path's byte table: they must still be refused
     ("\x00", False), ("\ue000", False), ("\ue075", False)],
)
def test_character_set_membership(character, gsm):
    assert (count_segments(character).encoding == GSM7) is gsm
    assert (count_segments("Grüße " + character).encoding == GSM7) is gsm  # the non-ASCII path too


def test_escape_is_not_a_character_of_its_own():
    # 0x1B is the prefix of the extension table; a literal ESC cannot be sent as GSM-7.
    assert count_segments("a\x1bb").encoding == UCS2


def test_empty_text_has_no_segments():
    assert count_segments("") == (GSM7, 0, 0, 0, ())
    assert split_segments("") == []


def test_suggested_replacements_for_typographic_characters():
    text = "“Hi” – it’s… 50\u00a0% off — ça va? ê😀"
    suggestions = suggest_replacements(text)
    assert suggestions == {
        "“": '"', "”": '"', "–": "-", "’": "'", "…": "...", "\u00a0": " ", "—": "-", "ç": "c", "ê": "e",
    }
    fixed = replace_non_gsm(text)
    assert fixed == "\"Hi\" - it's... 50 % off - ca va? e😀"  # the emoji has no stand-in
    assert count_segments(replace_non_gsm(text.replace("😀", ""))).encoding == GSM7
