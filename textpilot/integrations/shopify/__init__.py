"""Shopify connector: signed webhooks in, Admin GraphQL backfill, both mapped onto the
profiles/commerce/events services.

    signing      HMAC of webhook bodies
    connections  the store's link to its shop (secrets encrypted at rest)
    webhooks     the Django view: verify, store raw, enqueue, answer 200 fast
    processing   one stored delivery -> its topic's handler, status and retries
    versions     newest-wins per Shopify object (out-of-order and replayed updates)
    mapping      Shopify payloads -> profiles/commerce/events services
    privacy      customers/data_request, customers/redact, shop/redact
    client       Admin GraphQL over httpx with cost-based throttling
    queries      the backfill's GraphQL queries and node -> webhook-shape conversion
    backfill     resumable paging through products, customers, orders, abandoned checkouts
"""
