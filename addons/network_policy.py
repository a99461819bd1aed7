"""Which addresses the addon client may connect to (the SSRF policy).

Addons are self-hosted, so private and loopback addresses are allowed by default. Link-local
addresses (cloud metadata services live there) and "this host" addresses are refused unless an
allowed network covers them. When allowed networks or hosts are given (ADDON_ALLOWED_NETWORKS,
ADDON_ALLOWED_HOSTS in the settings), only the listed networks and host names may be reached.

The check runs on the resolved addresses, at connect time, for every connection the client opens
(so also for every redirect hop): the OS parses the host (`0x7f.1`, `2130706433`, a DNS name that
points at 169.254.169.254 …) and the policy judges the address it would really connect to.
"""

import asyncio
import socket
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from aiohttp import TCPConnector, TraceConfig
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import is_ip_address
from aiohttp.resolver import ThreadedResolver
from yarl import URL

REFUSED_TEXT = "address not allowed by the network policy"
INPUT_REFUSAL = (
    "This URL points to an address not allowed by the network policy "
    "(link-local and metadata addresses, or outside ADDON_ALLOWED_NETWORKS / ADDON_ALLOWED_HOSTS)."
)

ALWAYS_REFUSED = tuple(
    ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this host": connects to the local machine on Linux
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "::/128",
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
)


class AddressNotAllowed(Exception):
    """Raised before any connection is attempted. Not an OSError, so aiohttp passes it through
    unwrapped and the client can tell it from a failed connection (which is retried)."""

    def __init__(self):
        super().__init__(REFUSED_TEXT)


@dataclass(frozen=True)
class NetworkPolicy:
    allowed_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    allowed_hosts: tuple[str, ...] = ()

    def _host_listed(self, host: str) -> bool:
        """`addon.lan` matches itself; `.example.com` matches example.com and its subdomains."""
        host = host.rstrip(".").lower()
        for entry in self.allowed_hosts:
            if host == entry.lstrip(".") or (entry.startswith(".") and host.endswith(entry)):
                return True
        return False

    def address_allowed(self, address: str, host: str) -> bool:
        """May we connect to `address` (a resolved IP), reached by the name `host` from the URL?"""
        ip = ip_address(address)
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254 on the wire
        if any(ip in network for network in self.allowed_networks):
            return True
        if any(ip in network for network in ALWAYS_REFUSED):
            return False
        if not self.allowed_networks and not self.allowed_hosts:
            return True
        return self._host_listed(host)

    def check_host(self, host: str, port: int) -> None:
        """Raise AddressNotAllowed when no address `host` resolves to may be reached. A name that
        does not resolve here passes: the fetch reports it (or a proxy resolves it)."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return
        if not any(self.address_allowed(info[4][0], host) for info in infos):
            raise AddressNotAllowed

    def check_url(self, url: str) -> None:
        """The input-time check for an addon URL (the same rules the client applies when it connects)."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return  # a malformed port: the fetch reports it
        if parts.hostname:
            self.check_host(parts.hostname, port)


class PolicyResolver(AbstractResolver):
    """Resolves with the OS (getaddrinfo, as a connection would) and keeps only allowed addresses."""

    def __init__(self, policy: NetworkPolicy):
        self.policy = policy
        self._resolver = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        allowed = [result for result in results if self.policy.address_allowed(result["host"], host)]
        if not allowed:
            raise AddressNotAllowed
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


class PolicyConnector(TCPConnector):
    """A TCPConnector whose every host goes through the PolicyResolver: aiohttp would otherwise
    connect to an IP literal without asking its resolver."""

    def __init__(self, policy: NetworkPolicy, **kwargs):
        super().__init__(resolver=PolicyResolver(policy), **kwargs)

    async def _resolve_host(self, host: str, port: int, traces=None) -> list[ResolveResult]:
        if is_ip_address(host):
            return await self._resolver.resolve(host, port, family=self._family)
        return await super()._resolve_host(host, port, traces=traces)


def proxied_target_checks(policy: NetworkPolicy) -> TraceConfig:
    """Through a proxy we only connect to the proxy; check each target (first URL and every
    redirect hop) as resolved here instead. The proxy's own DNS is beyond our reach."""

    async def check(url: URL) -> None:
        if url.raw_host:
            await asyncio.to_thread(policy.check_host, url.raw_host, url.port or 80)

    async def on_request_start(session, context, params):
        await check(params.url)

    async def on_request_redirect(session, context, params):
        location = params.response.headers.get("Location")
        if location:
            await check(params.response.url.join(URL(location)))

    trace = TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_redirect.append(on_request_redirect)
    return trace
