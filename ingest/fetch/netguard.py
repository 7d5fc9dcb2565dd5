"""The network side of the SSRF guard and the total deadline, for :mod:`ingest.fetch.client`.

:class:`GuardedBackend` is the httpcore network backend of every
:class:`~ingest.fetch.client.Fetcher`. It resolves the host itself, judges every resolved
address with the address policy and connects a socket to exactly the address it judged,
by number: there is no second look-up that DNS rebinding could answer differently, and a
refused address never gets a socket.
Its streams also enforce the fetch's total deadline on every read and write, so a server
that trickles its headers one byte at a time ends on time too.

The policy (:func:`is_public_address`) admits globally routable unicast addresses only and
judges the IPv4 address embedded in IPv4-mapped, NAT64 and 6to4 IPv6 forms.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from typing import Any

import httpcore

from ingest.model.errors import BlockedAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress, int], bool]
Resolver = Callable[[str, int], Sequence[str]]

# Absolute time.monotonic() by which the current fetch must be over (None: no deadline).
# A context variable, so each thread's fetch sees its own deadline on pooled connections.
fetch_deadline: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
_BLOCKED_V4 = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("192.88.99.0/24"),  # deprecated 6to4 relay anycast
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address carries."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    return None


def is_public_ip(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (an embedded IPv4 is judged instead)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False  # a zone id names a local interface
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public_ip(inner)
        if ip.is_site_local:
            return False
    elif any(ip in net for net in _BLOCKED_V4):
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
    )


def is_public_address(address: str) -> bool:
    """:func:`is_public_ip` for a numeric address string; anything unparseable is refused."""
    try:
        return is_public_ip(ipaddress.ip_address(address))
    except ValueError:
        return False


def public_only(ip: IPAddress, port: int) -> bool:
    """The default address policy: any port of a public address."""
    return is_public_ip(ip)


def allow_all(ip: IPAddress, port: int) -> bool:
    """The policy when ``allow_private_addresses`` turns the guard off (tests, the demo)."""
    return True


def system_resolver(host: str, port: int) -> list[str]:
    """Numeric addresses for ``host`` from the system resolver (numeric hosts stay as they are)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def remaining_time(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the current fetch's total deadline."""
    deadline = fetch_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the fetch's total deadline has passed")
    return left if timeout is None else min(timeout, left)


class SocketStream(httpcore.NetworkStream):
    """A connected socket whose every read and write stops at the fetch's total deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            self._sock.settimeout(remaining_time(timeout))
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            while buffer:
                self._sock.settimeout(remaining_time(timeout))
                sent = self._sock.send(buffer)
                buffer = buffer[sent:]
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            self._sock.settimeout(remaining_time(timeout))
            return SocketStream(
                ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
            )
        except TimeoutError as exc:
            self.close()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from exc
        except OSError as exc:  # ssl.SSLError included
            self.close()
            raise httpcore.ConnectError(str(exc)) from exc

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


def _readable(sock: socket.socket) -> bool:
    """True when a pooled connection has data or EOF waiting (so it cannot be reused)."""
    if sock.fileno() == -1:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def open_socket(
    ip: IPAddress, port: int, timeout: float | None, local_address: str | None
) -> socket.socket:
    """A TCP connection to exactly this numeric address (no name resolution happens)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if local_address:
            sock.bind((local_address, 0))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        sock.connect((str(ip), port))
    except BaseException:
        sock.close()
        raise
    return sock


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves, judges and connects in one place; see the module docstring."""

    def __init__(self, allowed: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.allowed = allowed
        self.resolver = resolver
        self._lookups = ThreadPoolExecutor(4, "fw-resolve")

    def close(self) -> None:
        self._lookups.shutdown(wait=False, cancel_futures=True)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._judged_addresses(host, port, remaining_time(timeout))
        last_error: OSError | None = None
        for ip in addresses:
            try:
                sock = open_socket(ip, port, remaining_time(timeout), local_address)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"connecting to {ip} timed out") from exc
            except OSError as exc:
                last_error = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            return SocketStream(sock)
        raise httpcore.ConnectError(f"cannot connect to {host}: {last_error}")

    def _judged_addresses(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        """Every address ``host`` resolves to, or BlockedAddress if any one is refused."""
        if "%" in host:
            raise BlockedAddress(host, f"refused scoped address {host}")
        addresses = [_parse_ip(host, a) for a in self._resolve(host, port, timeout)]
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        refused = [ip for ip in addresses if not self.allowed(ip, port)]
        if refused:
            raise BlockedAddress(host, f"refused non-public address {refused[0]} for {host}")
        return addresses

    def _resolve(self, host: str, port: int, timeout: float | None) -> Sequence[str]:
        try:
            return [str(ipaddress.ip_address(host))]  # a numeric host needs no look-up
        except ValueError:
            pass
        future = self._lookups.submit(self.resolver, host, port)
        try:
            return future.result(timeout)
        except FutureTimeout as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _parse_ip(host: str, address: str) -> IPAddress:
    try:
        return ipaddress.ip_address(address)
    except ValueError as exc:
        raise BlockedAddress(host, f"refused unparseable address {address!r} for {host}") from exc
