"""The segment counter checked against an independent definition of GSM-7: the `gsm0338`
codec (3GPP TS 23.038 tables), on thousands of generated texts."""
import unicodedata

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
from gsm0338.charset import BASIC_CHARACTER_SET, BASIC_CHARACTER_SET_EXTENSION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textpilot.messaging.encoding import GSM7, UCS2, count_segments, split_segments

CODEC = "gsm03.38"
# The codec maps 0x1B to a literal ESC; we refuse it (it is the extension-table prefix, see
# test_escape_is_not_a_character_of_its_own), so generated texts leave it out.
ESC = "\x1b"
CODEC_BASIC = [unicodedata.lookup(name) for name in BASIC_CHARACTER_SET.values() if name != "ESCAPE"]
CODEC_EXTENSION = [unicodedata.lookup(name) for name in BASIC_CHARACTER_SET_EXTENSION.values()]

# Texts that exercise every branch: mostly GSM-7, some extension characters, some outside
# GSM-7 (BMP and astral), lengths around the segment limits.
characters = st.one_of(
    st.sampled_from(CODEC_BASIC),
    st.sampled_from(CODEC_EXTENSION),
    st.characters(blacklist_characters=ESC, blacklist_categories=("Cs",)),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
)
gsm_heavy = st.one_of(st.sampled_from(CODEC_BASIC), st.sampled_from(CODEC_EXTENSION))
texts = st.one_of(
    st.text(characters, max_size=500),
    st.text(gsm_heavy, min_size=140, max_size=800),
    st.text(st.one_of(st.sampled_from("жщ"), st.sampled_from("😀👍🎉")), min_size=60, max_size=300),
)
PROPERTY_SETTINGS = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def codec_weight(character: str, encoding: str) -> int:
    if encoding == GSM7:
        return len(character.encode(CODEC))
    return len(character.encode("utf-16-le")) // 2


def reference_parts(text: str, encoding: str) -> list[int]:
    """Greedy reference split by codec-derived weights: sizes in units of each part."""
    single, per_part = (160, 153) if encoding == GSM7 else (70, 67)
    weights = [codec_weight(c, encoding) for c in text]
    if sum(weights) <= single:
        return [sum(weights)] if text else []
    parts, current = [], 0
    for weight in weights:
        if current + weight > per_part:
            parts.append(current)
            current = 0
        current += weight
    return parts + [current]


@PROPERTY_SETTINGS
@given(texts)
def test_gsm7_verdict_and_units_agree_with_the_codec(text):
    count = count_segments(text)
    try:
        encoded = text.encode(CODEC)
    except UnicodeEncodeError:
        assert count.encoding == UCS2
        assert count.units == len(text.encode("utf-16-le")) // 2
        assert set(count.non_gsm_characters) == {c for c in text if _not_in_codec(c)}
    else:
        assert count.encoding == GSM7
        assert count.units == len(encoded)
        assert count.non_gsm_characters == ()
    assert count.characters == len(text)


def _not_in_codec(character: str) -> bool:
    try:
        character.encode(CODEC)
    except UnicodeEncodeError:
        return True
    return False


@PROPERTY_SETTINGS
@given(texts)
def test_split_parts_rejoin_fit_and_never_cut_a_pair(text):
    count = count_segments(text)
    parts = split_segments(text)
    assert "".join(parts) == text
    assert len(parts) == count.segments
    sizes = [sum(codec_weight(c, count.encoding) for c in part) for part in parts]
    assert sizes == reference_parts(text, count.encoding)
    limit = (160 if count.encoding == GSM7 else 70) if len(parts) == 1 else (153 if count.encoding == GSM7 else 67)
    for part in parts:
        if count.encoding == GSM7:
            encoded = part.encode(CODEC)
            assert len(encoded) <= limit
            assert not encoded.endswith(b"\x1b"), "an escape pair was split"
        else:
            encoded = part.encode("utf-16-be")
            assert len(encoded) // 2 <= limit
            assert not 0xD800 <= int.from_bytes(encoded[-2:], "big") <= 0xDBFF, "a surrogate pair was split"
