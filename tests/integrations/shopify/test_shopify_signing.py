from textpilot.integrations.shopify.signing import is_valid, sign

# Known vector, computed independently with:
#   printf '%s' '{"id":820982911946154508,"email":"jon@example.com"}' | openssl dgst -sha256 -hmac hush -binary | base64
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
SECRET = "hush"
EXPECTED = "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8="


def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    assert sign(SECRET, BODY) == EXPECTED


def test_known_signature_is_accepted():
    assert is_valid(SECRET, BODY, EXPECTED)
    assert is_valid(SECRET, BODY, EXPECTED + "\n")  # header values may carry trailing whitespace


def test_any_change_is_refused():
    assert not is_valid(SECRET, BODY + b" ", EXPECTED)  # same JSON, different bytes
    assert not is_valid("hush2", BODY, EXPECTED)
    assert not is_valid(SECRET, BODY, EXPECTED.lower())
    assert not is_valid(SECRET, BODY, "")
    assert not is_valid(SECRET, BODY, None)
    assert not is_valid("", BODY, sign("", BODY))  # no secret configured: nothing verifies
