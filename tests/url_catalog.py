"""Every URL the site serves, by URL name: the lists that must cover them all (tenant
isolation probes, the browser sweep of the dashboard) are checked against this walk, so a
new URL can't be forgotten."""
from django.urls import URLResolver, get_resolver


def url_names() -> dict[str, str]:
    """{URL name (namespace:name): route} of every URL the site serves."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            else:
                name = ":".join(n for n in (namespace, pattern.name) if n) if pattern.name else f"{namespace}:<unnamed>"
                found.setdefault(name, prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "/", None)
    return found
