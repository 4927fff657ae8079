"""Column mapping of an import: which profile field (or custom property, or nothing) each
CSV column fills. A mapping is suggested from the header names and checked when the
merchant confirms it; custom property keys are derived from column names."""
import re

from textpilot.common.errors import FieldError

# Mapping targets: csv column -> one of these. Each may be used once, except property/skip.
PROFILE_TARGETS = ("phone", "email", "external_id", "first_name", "last_name", "gender", "language", "country", "region", "city",
                   "timezone")
TARGETS = {
    "phone": "Phone", "email": "Email", "external_id": "Customer ID", "first_name": "First name", "last_name": "Last name",
    "gender": "Gender", "language": "Language", "country": "Country", "region": "State / province", "city": "City", "timezone": "Time zone",
    "tags": "Tags", "consent_status": "SMS consent", "consent_date": "Consent date", "consent_source": "Consent source",
    "property": "Custom property", "skip": "Don't import",
}
REPEATABLE_TARGETS = ("property", "skip")
IDENTIFIER_TARGETS = ("phone", "email", "external_id")
# Header spellings seen in exports (Shopify, Klaviyo, spreadsheets), compared without case,
# spaces or punctuation.
HEADER_SYNONYMS = {
    "phone": ("phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "telephone", "tel",
              "smsnumber", "smsphone", "msisdn", "defaultaddressphone"),
    "email": ("email", "emailaddress", "mail"),
    "external_id": ("customerid", "externalid", "shopifyid", "shopifycustomerid", "id", "userid"),
    "first_name": ("firstname", "givenname", "first", "forename"),
    "last_name": ("lastname", "surname", "familyname", "last"),
    "gender": ("gender", "sex"),
    "language": ("language", "locale", "lang"),
    "country": ("country", "countrycode", "defaultaddresscountrycode"),
    "region": ("state", "province", "region", "statecode", "provincecode", "defaultaddressprovincecode", "stateprovince"),
    "city": ("city", "town", "defaultaddresscity"),
    "timezone": ("timezone", "tz"),
    "tags": ("tags", "tag", "labels"),
    "consent_status": ("smsconsent", "consent", "acceptssmsmarketing", "smsmarketing", "smssubscribed", "smsoptin",
                       "optin", "smsstatus", "subscribed", "smsmarketingconsent", "smssubscriptionstatus"),
    "consent_date": ("consentdate", "smsconsentdate", "optindate", "subscribedat", "consentedat", "consenttimestamp",
                     "smsconsentcollectedat", "smsmarketingconsentupdatedat"),
    "consent_source": ("consentsource", "smsconsentsource", "optinsource", "smsconsentcollectedfrom"),
}


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def suggest_mapping(columns: list[str]) -> dict[str, str]:
    """Guess a target per column from its name; unknown columns become custom properties."""
    by_key = {synonym: target for target, synonyms in HEADER_SYNONYMS.items() for synonym in synonyms}
    mapping, used = {}, set()
    for column in columns:
        target = by_key.get(_header_key(column))
        if column.startswith("column_") and _header_key(column[7:]).isdigit():
            target = "skip"  # a column without a name
        elif target is None or target in used:
            target = "property"
        used.add(target)
        mapping[column] = target
    return mapping


def clean_mapping(columns: list[str], mapping) -> dict[str, str]:
    """A full mapping (every column) or FieldError naming the column at fault."""
    if not isinstance(mapping, dict):
        raise FieldError("mapping must be an object of column name -> target", field="mapping")
    clean = {column: "skip" for column in columns}
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if column not in clean:
            raise FieldError(f"the file has no column named {column!r}", field=f"mapping.{column}")
        if target is None or (isinstance(target, str) and not target.strip()):
            target = "skip"
        target = target.strip() if isinstance(target, str) else target
        if target not in TARGETS:
            raise FieldError(f"{target!r} is not an import target (use one of {', '.join(TARGETS)})", field=f"mapping.{column}")
        if target not in REPEATABLE_TARGETS:
            if target in used:
                raise FieldError(f"columns {used[target]!r} and {column!r} are both mapped to {target}", field=f"mapping.{column}")
            used[target] = column
        clean[column] = target
    if not any(target in used for target in IDENTIFIER_TARGETS):
        raise FieldError("map at least one column to phone, email or customer ID: rows need an identifier", field="mapping")
    for dependent in ("consent_date", "consent_source"):
        if dependent in used and "consent_status" not in used:
            raise FieldError(f"{TARGETS[dependent].lower()} needs a column mapped to SMS consent", field=f"mapping.{used[dependent]}")
    return clean


def property_keys(mapping: dict[str, str]) -> dict[str, str]:
    """Column -> key in profile.properties for columns mapped to 'property'."""
    keys, taken = {}, {"tags"} if "tags" in mapping.values() else set()
    for column, target in mapping.items():
        if target != "property":
            continue
        key = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_") or "column"
        unique, n = key, 2
        while unique in taken:
            unique, n = f"{key}_{n}", n + 1
        keys[column] = unique
        taken.add(unique)
    return keys
