"""This host's IP addresses, for mediasoup's server settings: ``rtc_ipv4=True`` (and
``rtc_ipv6=True``) takes the first non-internal address of the family, as mediasoup v2 did
with Node's ``os.networkInterfaces()``, and a listen address must be one this host has.

The addresses come from the C library's ``getifaddrs`` (the interfaces that are up, in the
kernel's order); "internal" is a loopback interface's, as in Node. IPv6 link-local addresses
(fe80::/10) are skipped when detecting: a client cannot reach them without a zone."""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal

from mediasoup_py import errors

__all__ = [
    "HostAddress",
    "check_listen_ip",
    "first_external_address",
    "host_addresses",
    "is_wildcard",
]

_IFF_UP = 0x1
_IFF_LOOPBACK = 0x8


@dataclass(frozen=True)
class HostAddress:
    """One address of one interface."""

    interface: str
    family: Literal[4, 6]
    address: str
    internal: bool


class _SockAddr(ctypes.Structure):
    _fields_ = (("sa_family", ctypes.c_ushort), ("sa_data", ctypes.c_ubyte * 14))


class _SockAddrIn(ctypes.Structure):
    _fields_ = (
        ("sin_family", ctypes.c_ushort),
        ("sin_port", ctypes.c_ushort),
        ("sin_addr", ctypes.c_ubyte * 4),
    )


class _SockAddrIn6(ctypes.Structure):
    _fields_ = (
        ("sin6_family", ctypes.c_ushort),
        ("sin6_port", ctypes.c_ushort),
        ("sin6_flowinfo", ctypes.c_uint32),
        ("sin6_addr", ctypes.c_ubyte * 16),
        ("sin6_scope_id", ctypes.c_uint32),
    )


class _IfAddrs(ctypes.Structure):
    pass


_IfAddrs._fields_ = (
    ("ifa_next", ctypes.POINTER(_IfAddrs)),
    ("ifa_name", ctypes.c_char_p),
    ("ifa_flags", ctypes.c_uint),
    ("ifa_addr", ctypes.POINTER(_SockAddr)),
    ("ifa_netmask", ctypes.POINTER(_SockAddr)),
    ("ifa_ifu", ctypes.POINTER(_SockAddr)),
    ("ifa_data", ctypes.c_void_p),
)


def host_addresses() -> list[HostAddress]:
    """The IPv4 and IPv6 addresses of the interfaces that are up, in the kernel's order."""
    # The wheel is for glibc (manylinux), whose C library this is.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    head = ctypes.POINTER(_IfAddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"getifaddrs: {errno.errorcode.get(code, code)}")
    found: list[HostAddress] = []
    try:
        entry = head
        while entry:
            item = entry.contents
            entry = item.ifa_next
            if not item.ifa_addr or not item.ifa_flags & _IFF_UP:
                continue
            family = item.ifa_addr.contents.sa_family
            if family == socket.AF_INET:
                raw = bytes(
                    ctypes.cast(item.ifa_addr, ctypes.POINTER(_SockAddrIn)).contents.sin_addr
                )
                version: Literal[4, 6] = 4
            elif family == socket.AF_INET6:
                pointer = ctypes.cast(item.ifa_addr, ctypes.POINTER(_SockAddrIn6))
                raw = bytes(pointer.contents.sin6_addr)
                version = 6
            else:
                continue
            found.append(
                HostAddress(
                    interface=(item.ifa_name or b"").decode(errors="replace"),
                    family=version,
                    address=str(ipaddress.ip_address(raw)),
                    internal=bool(item.ifa_flags & _IFF_LOOPBACK),
                )
            )
    finally:
        libc.freeifaddrs(head)
    return found


def first_external_address(family: Literal[4, 6]) -> str | None:
    """The first non-internal address of the family (IPv6: not link-local), or None."""
    for entry in host_addresses():
        if entry.family != family or entry.internal:
            continue
        if family == 6 and ipaddress.IPv6Address(entry.address).is_link_local:
            continue
        return entry.address
    return None


def is_wildcard(ip: str) -> bool:
    """Whether ``ip`` means every address of its family (0.0.0.0 or ::)."""
    return ipaddress.ip_address(ip).is_unspecified


# Addresses a probe found on this host: checked once per process (each probe costs a socket).
_listenable: set[str] = set()


def check_listen_ip(ip: str, field: str) -> None:
    """Raises a ``MediasoupTypeError`` naming ``field`` unless ``ip`` is a wildcard or an
    address this host can listen on (the kernel decides: a UDP socket is bound to it). When the
    probe cannot run (no descriptor left, say) it says nothing, and the worker's own bind
    reports whatever fails."""
    if ip in _listenable or is_wildcard(ip):
        return
    family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
    try:
        probe = socket.socket(family, socket.SOCK_DGRAM)
    except OSError:
        return
    with probe:
        try:
            probe.bind((ip, 0))
        except OSError as error:
            if error.errno != errno.EADDRNOTAVAIL:
                return
            raise errors.MediasoupTypeError(
                f"{field}: {ip} is not an address of this host (listen on one of its "
                "addresses, or on 0.0.0.0 or :: with an announced address)",
                field,
            ) from None
    _listenable.add(ip)
