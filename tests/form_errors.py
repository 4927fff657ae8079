"""Reading a dashboard form's errors out of its HTML, and the checks every form's errors pass:
each next to its field (web/_field.html: `<small id="<name>-error" class="field-error">`), in
plain words — no code names like `smart_sending_hours`, no phone-library sentences."""
import html as html_lib
import re

FIELD_ERROR = re.compile(r'<small id="([\w-]+)-error" class="field-error"[^>]*>(.*?)</small>', re.S)
# A code name: lower-case words joined by underscores (smart_sending_hours, account_sid).
CODE_NAME = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
LIBRARY_TEXT = ("The string supplied", "did not seem to be", "Missing or invalid default region", "NumberParseException")


def field_errors(html: str) -> dict[str, str]:
    """{field name: its error text} of every field shown with an error."""
    return {name: html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip() for name, text in FIELD_ERROR.findall(html)}


def label_of(html: str, field_id: str) -> str:
    found = re.search(rf'<label for="{re.escape(field_id)}"[^>]*>(.*?)</label>', html, re.S)
    assert found, f"no label for {field_id}"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def assert_plain(errors: dict[str, str]) -> None:
    for field, text in errors.items():
        assert text, f"{field}: empty error"
        assert not CODE_NAME.search(text), f"{field}: code name in {text!r}"
        assert not any(bit in text for bit in LIBRARY_TEXT), f"{field}: library text in {text!r}"
