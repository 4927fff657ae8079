"""Store rules: creating stores, members, API keys and checking them."""
import hashlib
import hmac
import secrets
import zoneinfo

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from textpilot.common.phones import normalize_phone
from textpilot.common.errors import Conflict, ErrorCollector, FieldError, NotFound
from textpilot.common.inputs import InputError, country_code, currency_code, host_name, plain_text
from textpilot.stores import api_key_cache
from textpilot.stores.models import ApiKey, Membership, Store

API_KEY_PREFIX = "tp_"
EDITABLE_STORE_FIELDS = ("name", "timezone", "currency", "country", "domain", "sender_name", "sender_phone", "support_email")
API_KEY_NAME_MAX = ApiKey._meta.get_field("name").max_length
TEXT_LIMITS = {"name": 200, "domain": 255, "sender_name": 64, "support_email": 254}


def hash_api_key(raw_key: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is enough (no slow KDF needed),
    # and it lets us find the key by an indexed equality lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _validate_store_fields(fields: dict, current_country: str = "US") -> dict:
    """The settings cleaned, or FieldErrors naming every refused one. `current_country` is the
    region a national sender number is read in when the country is not being changed."""
    clean, errors = {}, ErrorCollector()
    order = {name: index for index, name in enumerate(EDITABLE_STORE_FIELDS)}  # the country before the number read in it
    for name, value in sorted(fields.items(), key=lambda item: order.get(item[0], len(order))):
        with errors.catching():
            clean[name] = _clean_store_field(name, value, clean, current_country)
    errors.raise_if_any()
    return clean


def _clean_store_field(name: str, value, clean: dict, current_country: str):
    if name not in EDITABLE_STORE_FIELDS:
        raise FieldError(f"unknown store setting {name!r}", field=name)
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if not isinstance(value, str):
        raise FieldError(f"{name} must be text", field=name)
    try:
        value = plain_text(value)
        if name == "currency":
            return currency_code(value)
        if name == "country":
            return country_code(value)
        if name == "domain" and value:
            value = host_name(value)
    except InputError as exc:
        raise FieldError(exc.message, field=name) from None
    if name == "name" and not value:
        raise FieldError("store name is required", field="name")
    if name in TEXT_LIMITS and len(value) > TEXT_LIMITS[name]:
        raise FieldError(f"{name} is longer than {TEXT_LIMITS[name]} characters", field=name)
    if name == "support_email" and value:
        try:
            validate_email(value)
        except ValidationError:
            raise FieldError(f"{value!r} is not a valid email address", field="support_email") from None
    if name == "timezone" and value not in zoneinfo.available_timezones():
        raise FieldError(f"unknown time zone {value!r}", field="timezone")
    if name == "sender_phone" and value:
        region = clean.get("country") or current_country or "US"
        return normalize_phone(value, default_region=region, field="sender_phone", allow_short_code=True)
    return value


def check_store_settings(store: Store, **fields) -> dict:
    """The settings cleaned (nothing saved), or FieldErrors naming every refused one."""
    return _validate_store_fields(fields, current_country=store.country)


@transaction.atomic
def create_store(name: str, slug: str | None = None, **settings) -> Store:
    clean = _validate_store_fields({"name": name, **settings})
    slug = slugify(slug or name)
    if not slug:
        raise FieldError("slug must contain letters or digits", field="slug")
    if Store.objects.filter(slug=slug).exists():
        raise Conflict(f"a store with slug {slug!r} already exists", field="slug")
    return Store.objects.create(slug=slug, **clean)


def update_store_settings(store: Store, **fields) -> Store:
    clean = check_store_settings(store, **fields)
    for name, value in clean.items():
        setattr(store, name, value)
    store.save(update_fields=list(clean))
    return store


def get_store(slug: str) -> Store:
    try:
        return Store.objects.get(slug=slug)
    except Store.DoesNotExist:
        raise NotFound(f"no store with slug {slug!r}", field="store") from None


def store_for_public_key(public_key: str) -> Store | None:
    """The store a storefront snippet key belongs to (the key is public: it only writes events)."""
    if not public_key:
        return None
    return Store.objects.filter(public_key=public_key).first()


def add_member(store: Store, user, role: str = Membership.Role.STAFF) -> Membership:
    if role not in Membership.Role.values:
        raise FieldError(f"role must be one of {', '.join(Membership.Role.values)}", field="role")
    membership, _ = Membership.objects.update_or_create(store=store, user=user, defaults={"role": role})
    return membership


def ensure_user(email: str, password: str, store: Store, role: str = Membership.Role.OWNER):
    """Create (or reset the password of) a dashboard user and give them a role in `store`."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
    user.set_password(password)
    user.save()
    add_member(store, user, role)
    return user


def stores_for_user(user):
    if not user.is_authenticated:
        return Store.objects.none()
    return Store.objects.filter(memberships__user=user).order_by("name")


def memberships_of(user):
    """The user's memberships with their stores, in the order the store switcher shows them."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("store").order_by("store__name")


def role_of(user, store: Store) -> str | None:
    membership = Membership.objects.filter(store=store, user=user).first()
    return membership.role if membership else None


def create_api_key(store: Store, name: str = "default") -> tuple[ApiKey, str]:
    """Returns the stored key row and the raw key, which is never stored and cannot be shown
    again. A blank name or one longer than the column is refused, never replaced or cut."""
    name = (name or "").strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        raise FieldError("name is required: say what will use the key, e.g. Shopify sync", field="name")
    if "\x00" in name:
        raise FieldError("name contains the NUL character (U+0000), which cannot be stored", field="name")
    if len(name) > API_KEY_NAME_MAX:
        raise FieldError(f"name is at most {API_KEY_NAME_MAX} characters; this one has {len(name)}", field="name")
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(store=store, name=name, prefix=raw_key[:10], key_hash=hash_api_key(raw_key))
    return api_key, raw_key


def get_api_key(store: Store, key_id: int) -> ApiKey:
    api_key = ApiKey.objects.filter(store=store, pk=key_id).first()
    if api_key is None:
        raise NotFound("no such API key in this store", field="key_id")
    return api_key


def authenticate_api_key(raw_key: str) -> ApiKey | None:
    if not raw_key or not raw_key.startswith(API_KEY_PREFIX):
        return None
    digest = hash_api_key(raw_key)
    cached = api_key_cache.get(digest)
    if cached is not None:
        return cached
    api_key = ApiKey.objects.select_related("store").filter(key_hash=digest, revoked_at__isnull=True).first()
    # The lookup is by digest; the constant-time compare keeps timing independent of content.
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    now = timezone.now()
    # Write the "last used" stamp at most once a minute per key to keep the hot path read-only;
    # between cache misses (every API_KEY_CACHE_SECONDS per process) there is nothing to stamp.
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    api_key_cache.put(digest, api_key)
    return api_key


def revoke_api_key(store: Store, key_id: int) -> ApiKey:
    api_key = get_api_key(store, key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    api_key_cache.forget_key(api_key.pk)  # the save's signal does it too; revoking must not depend on it
    return api_key


def list_api_keys(store: Store):
    return ApiKey.objects.filter(store=store).order_by("-created_at")
