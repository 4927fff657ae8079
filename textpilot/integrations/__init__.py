"""Integrations map outside systems onto the domain services: Shopify (webhooks, backfill) and
CSV imports. They sit above profiles/events/commerce and below messaging/delivery."""
