"""Who the client is: the peer's address, or the one a trusted reverse proxy reports.

``X-Forwarded-For`` is believed only when the request comes from an address in
``PMD_TRUSTED_PROXIES``; then aiohttp-remotes' ``XForwardedFiltered`` walks the header
from the right, past our own proxies, to the first address that is not one of them.
Every handler reads the result as ``request.remote``.

What the database keeps of an address is ``address_key``: a keyed hash, never the
address. An IPv6 client is keyed by its /64 network, since a phone or a home gets a
whole /64 and could otherwise pick a new address for every request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_remotes import XForwardedFiltered

from pmd_domain.hashing import keyed_hash

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY_CHARS = 32


def trusted_proxies(trusted: Sequence[str]) -> Middleware:
    """A middleware that believes ``X-Forwarded-For`` from the ``trusted`` networks only."""
    networks = [ipaddress.ip_network(item, strict=False) for item in trusted]
    forwarded = XForwardedFiltered(set(networks))

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if networks and _within(request.remote, networks):
            return await forwarded.middleware(request, handler)
        return await handler(request)

    return middleware


def _within(
    remote: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def address_key(secret: str, remote: str | None) -> str | None:
    """The keyed hash that stands for a client address (its /64 for IPv6); None if unknown."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.ip_network(f"{address}/64", strict=False)
        return keyed_hash(secret, "address", str(network), length=KEY_CHARS)
    return keyed_hash(secret, "address", str(address), length=KEY_CHARS)
