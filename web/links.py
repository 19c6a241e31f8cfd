"""Absolute public URLs built from the route table and ``PMD_PUBLIC_URL``."""

from __future__ import annotations

from aiohttp import web


class RouterLinks:
    """``pmd_domain.links.Links`` implemented with the aiohttp router's named routes."""

    def __init__(self, router: web.UrlDispatcher, public_url: str):
        self._router = router
        self._base = public_url.rstrip("/")

    def _url(self, name: str, **parts: str) -> str:
        return self._base + str(self._router[name].url_for(**parts))

    def certificate(self, token: str) -> str:
        """The verification page of a certificate (route ``certificate``)."""
        return self._url("certificate", token=token)

    def privacy(self) -> str:
        """The full privacy notice (route ``privacy``)."""
        return self._url("privacy")

    def dashboard(self) -> str:
        """The public dashboard (route ``dashboard``)."""
        return self._url("dashboard")

    def panel_login(self, token: str) -> str:
        """A one-time login link into the staff area (route ``panel_login``)."""
        return self._url("panel_login", token=token)

    def proposal(self, folio: str) -> str:
        """The public page of a published proposal (route ``proposal``)."""
        return self._url("proposal", folio=folio)


def route_url(routes: web.RouteTableDef, public_url: str, name: str, **parts: str) -> str:
    """The absolute URL of a named route of ``routes``, without a running application."""
    router = web.Application().router
    router.add_routes(routes)
    return RouterLinks(router, public_url)._url(name, **parts)
