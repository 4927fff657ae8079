"""Customer stats (orders, spent, first/last order) in the profile API: a slot profiles
offers and commerce fills.

The stats are commerce's (commerce.stats, table CustomerStats), and commerce sits above
profiles, so profiles may not import it (the layers contract in pyproject.toml). Commerce
hands over its reader in `CommerceConfig.ready()` (`provide`); the profile endpoints load
the stats of a whole page in one call (`attach`) and `ProfileOut.stats` reads them
(`stats_of`). With no provider installed, a profile's `stats` is null."""
from collections.abc import Callable, Iterable

# (store, profile ids) -> {profile id: stats object}, one entry per id asked for.
Loader = Callable[[object, list[int]], dict]

ATTRIBUTE = "_customer_stats"
_loaders: list[Loader] = []


def provide(loader: Loader) -> None:
    """Called once by the app that owns orders (a second call replaces the first)."""
    _loaders[:] = [loader]


def attach(store, profiles: Iterable) -> list:
    """The profiles as a list, each carrying its stats (one load for all of them)."""
    profiles = list(profiles)
    if _loaders and profiles:
        loaded = _loaders[0](store, [profile.pk for profile in profiles])
        for profile in profiles:
            setattr(profile, ATTRIBUTE, loaded.get(profile.pk))
    return profiles


def stats_of(store, profile):
    """The profile's stats: attached already, or loaded now for this one profile."""
    if not hasattr(profile, ATTRIBUTE):
        attach(store, [profile])
    return getattr(profile, ATTRIBUTE, None)
