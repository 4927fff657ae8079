"""Provider webhooks: each provider folder with a `urls.py` is served at /webhooks/<provider>/."""
import importlib
import importlib.util
import pkgutil

from django.urls import include, path

from textpilot.delivery import providers

urlpatterns = []
for _module in pkgutil.iter_modules(providers.__path__):
    if _module.ispkg and importlib.util.find_spec(f"{providers.__name__}.{_module.name}.urls") is not None:
        urlpatterns.append(path(f"{_module.name}/", include(f"{providers.__name__}.{_module.name}.urls")))
