"""A store's link to its Shopify shop: domain, API version and two secrets, encrypted at rest
(the Admin API access token, and the app secret that signs webhooks). Connecting from the
dashboard first proves the token opens the shop (access_check); disconnecting forgets the
link and its secrets and keeps everything imported."""
import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from textpilot.common.crypto import decrypt_secret, encrypt_secret
from textpilot.common.errors import Conflict, ErrorCollector, FieldError, NotFound
from textpilot.integrations.shopify.access_check import check_access
from textpilot.integrations.shopify.models import BackfillJob, ShopifyConnection
from textpilot.stores.models import Store

SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
API_VERSION_RE = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
DEFAULT_API_VERSION = ShopifyConnection._meta.get_field("api_version").default
# A shop's Admin API; a connection's api_base_url replaces it (a proxy; tests point it at a local fake).
ADMIN_API_BASE = "https://{shop}/admin/api/{version}"
STOPPED_BY_DISCONNECT = "stopped: the shop was disconnected"


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


def check_connection(
    store: Store, *, shop_domain: str, access_token: str = "", webhook_secret: str = "", api_version: str = "",
    api_base_url: str | None = None,
) -> dict:
    """The connection's values cleaned (nothing saved, no call to Shopify), or FieldErrors
    naming every refused field. A blank secret keeps the saved one; `api_base_url` None
    keeps the saved override."""
    connection = get_connection(store) or ShopifyConnection(store=store)
    errors = ErrorCollector()
    domain = errors.collect(normalize_shop_domain, shop_domain)
    access_token, webhook_secret = (access_token or "").strip(), (webhook_secret or "").strip()
    if not access_token and not connection.access_token_encrypted:
        errors.add(FieldError("the Admin API access token is required", field="access_token"))
    if not webhook_secret and not connection.webhook_secret_encrypted:
        errors.add(FieldError("the webhook signing secret (the app's API secret) is required", field="webhook_secret"))
    api_version = (api_version or "").strip() or connection.api_version or DEFAULT_API_VERSION
    if not API_VERSION_RE.match(api_version):
        errors.add(FieldError("API version must look like 2025-01", field="api_version"))
    base_url = connection.api_base_url if api_base_url is None else errors.collect(_clean_base_url, api_base_url)
    if domain and ShopifyConnection.objects.filter(shop_domain=domain).exclude(store=store).exists():
        errors.add(Conflict(f"{domain} is already connected to another store", field="shop_domain"))
    errors.raise_if_any()
    return {"connection": connection, "shop_domain": domain, "api_version": api_version, "api_base_url": base_url,
            "access_token": access_token or decrypt_secret(connection.access_token_encrypted), "new_access_token": access_token,
            "new_webhook_secret": webhook_secret}


@transaction.atomic
def connect_shop(
    store: Store, *, shop_domain: str, access_token: str = "", webhook_secret: str = "", api_version: str = "",
    api_base_url: str | None = None, verify: bool = False,
) -> ShopifyConnection:
    """Create or update the store's connection. A blank secret keeps the stored one, so the
    dashboard never has to show a secret again to let the owner change something else.
    `verify`: first ask Shopify (access_check) whether the token opens this shop; nothing is
    saved when it does not."""
    clean = check_connection(store, shop_domain=shop_domain, access_token=access_token, webhook_secret=webhook_secret,
                             api_version=api_version, api_base_url=api_base_url)
    connection, domain = clean["connection"], clean["shop_domain"]
    if verify:
        check_access(admin_base_url(domain, clean["api_version"], clean["api_base_url"]), clean["access_token"], domain)
    connection.shop_domain, connection.api_version, connection.api_base_url = domain, clean["api_version"], clean["api_base_url"]
    if clean["new_access_token"]:
        connection.access_token_encrypted = encrypt_secret(clean["new_access_token"])
    if clean["new_webhook_secret"]:
        connection.webhook_secret_encrypted = encrypt_secret(clean["new_webhook_secret"])
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:  # another store took the domain at the same moment
        raise Conflict(f"{domain} is already connected to another store", field="shop_domain") from None
    return connection


@transaction.atomic
def disconnect_shop(store: Store) -> tuple[str, int]:
    """Forget the store's link to its shop: the encrypted secrets go, so the shop's webhooks
    are refused from now on (404) and a queued or running backfill stops after its current
    page. Everything already imported stays: customers, orders, events, the webhooks received
    and the backfills' history. Returns the shop's domain and how many backfills it stopped."""
    connection = ShopifyConnection.objects.select_for_update().filter(store=store).first()
    if connection is None:
        raise NotFound("no Shopify shop is connected to this store", field="shop_domain")
    stopped = BackfillJob.objects.filter(
        store=store, source="shopify", status__in=[BackfillJob.Status.QUEUED, BackfillJob.Status.RUNNING],
    ).update(status=BackfillJob.Status.FAILED, error=STOPPED_BY_DISCONNECT, finished_at=timezone.now())
    domain = connection.shop_domain
    connection.delete()
    return domain, stopped


def webhook_secret(connection: ShopifyConnection) -> str:
    return decrypt_secret(connection.webhook_secret_encrypted)


def access_token(connection: ShopifyConnection) -> str:
    return decrypt_secret(connection.access_token_encrypted)


def admin_base_url(shop_domain: str, api_version: str, api_base_url: str = "") -> str:
    """Where the shop's Admin API answers: the override, else ADMIN_API_BASE."""
    return (api_base_url or ADMIN_API_BASE.format(shop=shop_domain, version=api_version)).rstrip("/")


def graphql_url(connection: ShopifyConnection) -> str:
    return admin_base_url(connection.shop_domain, connection.api_version, connection.api_base_url) + "/graphql.json"
