"""A store's link to its Shopify shop: domain, API version and two secrets, encrypted at rest
(the Admin API access token, and the app secret that signs webhooks)."""
import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction

from textpilot.common.crypto import decrypt_secret, encrypt_secret
from textpilot.common.errors import Conflict, FieldError
from textpilot.integrations.shopify.models import ShopifyConnection
from textpilot.stores.models import Store

SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
API_VERSION_RE = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
DEFAULT_API_VERSION = ShopifyConnection._meta.get_field("api_version").default


def normalize_shop_domain(raw: str) -> str:
    """'https://Acme.myshopify.com/admin' -> 'acme.myshopify.com'; the Admin API only answers there."""
    domain = re.sub(r"^https?://", "", (raw or "").strip().lower()).split("/")[0]
    if not SHOP_DOMAIN_RE.match(domain):
        raise FieldError("shop domain must look like your-shop.myshopify.com", field="shop_domain")
    return domain


def _clean_base_url(raw: str) -> str:
    url = (raw or "").strip().rstrip("/")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise FieldError("API base URL must be an http(s) URL", field="api_base_url") from None
    return url


def get_connection(store: Store) -> ShopifyConnection | None:
    return ShopifyConnection.objects.filter(store=store).first()


def connection_for_slug(store_slug: str) -> ShopifyConnection | None:
    """The connection of the store with this slug, with its store (one query: the webhook path)."""
    return ShopifyConnection.objects.select_related("store").filter(store__slug=store_slug).first()


@transaction.atomic
def connect_shop(
    store: Store, *, shop_domain: str, access_token: str = "", webhook_secret: str = "", api_version: str = "", api_base_url: str = ""
) -> ShopifyConnection:
    """Create or update the store's connection. A blank secret keeps the stored one, so the
    dashboard never has to show a secret again to let the owner change something else."""
    connection = get_connection(store) or ShopifyConnection(store=store)
    domain = normalize_shop_domain(shop_domain)
    access_token, webhook_secret = (access_token or "").strip(), (webhook_secret or "").strip()
    if not access_token and not connection.access_token_encrypted:
        raise FieldError("the Admin API access token is required", field="access_token")
    if not webhook_secret and not connection.webhook_secret_encrypted:
        raise FieldError("the webhook signing secret (the app's API secret) is required", field="webhook_secret")
    api_version = (api_version or "").strip() or connection.api_version or DEFAULT_API_VERSION
    if not API_VERSION_RE.match(api_version):
        raise FieldError("API version must look like 2025-01", field="api_version")
    base_url = _clean_base_url(api_base_url)
    if ShopifyConnection.objects.filter(shop_domain=domain).exclude(store=store).exists():
        raise Conflict(f"{domain} is already connected to another store", field="shop_domain")
    connection.shop_domain, connection.api_version, connection.api_base_url = domain, api_version, base_url
    if access_token:
        connection.access_token_encrypted = encrypt_secret(access_token)
    if webhook_secret:
        connection.webhook_secret_encrypted = encrypt_secret(webhook_secret)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:  # another store took the domain at the same moment
        raise Conflict(f"{domain} is already connected to another store", field="shop_domain") from None
    return connection


def webhook_secret(connection: ShopifyConnection) -> str:
    return decrypt_secret(connection.webhook_secret_encrypted)


def access_token(connection: ShopifyConnection) -> str:
    return decrypt_secret(connection.access_token_encrypted)


def graphql_url(connection: ShopifyConnection) -> str:
    base = connection.api_base_url or f"https://{connection.shop_domain}/admin/api/{connection.api_version}"
    return base.rstrip("/") + "/graphql.json"
