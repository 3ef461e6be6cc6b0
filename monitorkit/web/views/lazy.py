"""A view named by its dotted path and imported when it is first needed.

Django's system checks import a project's URLconf before every management command, and with it
every view module the URLconf imports. The status page's views import about twenty modules of
monitorkit (stores, records, badges, pages): about 8 ms of every command of a project that
mounts the page, monitored or not, for a page that may never be opened in that process. The
URLconf names its views through :class:`LazyView` instead; a view module is imported by the
first request that reaches it, or by anything that looks into the view (Django's CSRF
middleware reads ``csrf_exempt``, a URL reversal by callable reads the view's name): every
attribute not set here is the real view's, so a decorator's mark is never lost.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class LazyView:
    """A view function standing in for ``dotted`` (``package.module.function``) until used."""

    def __init__(self, dotted: str) -> None:
        module, _, name = dotted.rpartition(".")
        self._module_name = module
        self._view: Callable[..., Any] | None = None
        # What Django reads to name a view (URLPattern.lookup_str, ResolverMatch): the real
        # view's names, without importing it.
        self.__module__ = module
        self.__name__ = self.__qualname__ = name

    def view(self) -> Callable[..., Any]:
        """Return the real view, imported on the first call."""
        if self._view is None:
            module = importlib.import_module(self._module_name)
            self._view = getattr(module, self.__name__)
        return self._view

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self.view()(request, *args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        # Only for attributes not set in __init__: a decorator's mark (csrf_exempt, ...).
        if attribute in ("_view", "_module_name"):
            raise AttributeError(attribute)  # not set yet (a copy made without __init__)
        return getattr(self.view(), attribute)

    def __repr__(self) -> str:
        return f"<LazyView {self._module_name}.{self.__name__}>"
