"""The error answers of the JSON API, declared in its OpenAPI document: every operation says
which 4xx it can give and what their body is, so a client (and the schemathesis run in CI,
tests/web/test_api_schemathesis.py) can hold the API to its document.

Declared from the shape of each operation rather than route by route: every operation may
answer 401 (no or bad key) and 422 (a value refused, naming it); one with a path id 404;
one that takes a body 400 (not JSON or not multipart), 404 (a row it names, e.g. a
`profile_id`, is not the store's), 409 (a clash with a stored row) and 413 (too large). A
route that declares a code itself keeps its own declaration."""
import copy

ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "description": "what was refused: a sentence, or one entry per bad value with its path in the request",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                                "description": 'the value\'s path: ["body", "profile", "phone"], ["query", "limit"], ["path", "profile_id"]'},
                        "msg": {"type": "string", "description": "the problem in plain words"},
                        "type": {"type": "string", "description": "a code for the kind of problem"},
                    },
                }},
            ],
        },
    },
}
DESCRIPTIONS = {
    400: "the body is not JSON (or not multipart/form-data)",
    401: "missing or invalid API key",
    404: "no such row in this store",
    409: "a value clashes with a stored row (an identifier already used, a refused opt-in)",
    413: "the body is too large",
    422: "a value is refused; `detail` names it",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def error_codes(path: str, method: str) -> list[int]:
    codes = {401, 422}
    if "{" in path:
        codes.add(404)
    if method in WRITE_METHODS:
        codes |= {400, 404, 409, 413}
    return sorted(codes)


def declare_error_responses(schema: dict) -> dict:
    """The OpenAPI document (a dict) with the error answers declared; changed in place."""
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = copy.deepcopy(ERROR_SCHEMA)
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS | {"get"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in error_codes(path, method):
                responses.setdefault(str(code), {"description": DESCRIPTIONS[code],
                                                 "content": {"application/json": {"schema": dict(reference)}}})
    return schema
