"""One cheap Admin API call that proves a shop domain and an access token belong together,
made before a connection is saved: GET <admin base>/shop.json with X-Shopify-Access-Token.

It costs one REST call (no GraphQL query cost), needs no access scope beyond the token's
own, and answers {"shop": {"myshopify_domain": …, "name": …, "currency": …}}. Every way it
can fail becomes a FieldError on the field to fix: a refused token (401/403) on the token,
an address that is not a shop (unreachable, a redirect, 404, an answer without a shop) on the
domain. No retries: the owner is waiting on the page."""
import httpx

from textpilot.common.errors import FieldError

USER_AGENT = "textpilot-shopify-connect/1"
TIMEOUT_SECONDS = 10.0


def check_access(admin_base_url: str, access_token: str, shop_domain: str, *, transport=None) -> dict:
    """The shop's details (`shop` of shop.json), or FieldError saying what is wrong."""
    url = admin_base_url.rstrip("/") + "/shop.json"
    headers = {"X-Shopify-Access-Token": access_token, "Accept": "application/json", "User-Agent": USER_AGENT}
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport, follow_redirects=False) as http:
            response = http.get(url, headers=headers)
    except httpx.TimeoutException:
        raise FieldError(f"{shop_domain} did not answer within {TIMEOUT_SECONDS:g} seconds: check the shop domain, "
                         "or try again in a minute", field="shop_domain") from None
    except httpx.HTTPError as exc:
        raise FieldError(f"{shop_domain} could not be reached ({type(exc).__name__}): check the shop domain",
                         field="shop_domain") from None
    status = response.status_code
    if status in (401, 403):
        raise FieldError(f"Shopify refused the access token ({status}): copy the Admin API access token (shpat_…) of "
                         f"the custom app installed on {shop_domain}", field="access_token")
    if status == 402:
        raise FieldError(f"{shop_domain} is frozen (402 Payment Required): its plan must be paid before it can be connected",
                         field="shop_domain")
    if status == 423:
        raise FieldError(f"{shop_domain} is locked by Shopify (423): it can't be connected now", field="shop_domain")
    if 300 <= status < 400 or status == 404:
        raise FieldError(f"no Shopify shop answers at {shop_domain} ({status}): check the shop domain "
                         "(your-shop.myshopify.com)", field="shop_domain")
    if status >= 400:
        raise FieldError(f"Shopify answered {status} when asked about {shop_domain}: try again in a minute", field="shop_domain")
    try:
        shop = response.json().get("shop")
    except (ValueError, AttributeError):
        shop = None
    if not isinstance(shop, dict) or not shop.get("myshopify_domain"):
        raise FieldError(f"{shop_domain} answered, but not like a Shopify shop: check the shop domain", field="shop_domain")
    actual = str(shop["myshopify_domain"]).strip().lower()
    if actual != shop_domain:
        raise FieldError(f"this access token belongs to {actual}, not to {shop_domain}", field="access_token")
    return shop
