"""Where `--serve` listens and who may connect: the `[HOST:]PORT` address, the loopback
check, and the token every request must carry off 127.0.0.1, ::1 and localhost.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Final

DEFAULT_HOST: Final[str] = "127.0.0.1"
DEFAULT_PORT: Final[int] = 8000
DEFAULT_SERVE: Final[str] = f"{DEFAULT_HOST}:{DEFAULT_PORT}"
_LOOPBACK_NAMES: Final[frozenset[str]] = frozenset({"localhost", "localhost."})
# the only addresses served without a token: this machine's own, by its usual names
_TOKENLESS: Final[frozenset[str]] = frozenset({"127.0.0.1", "::1", *_LOOPBACK_NAMES})


@dataclass(frozen=True, slots=True)
class ServeAddress:
    """Where the server listens. host: an IP address or "localhost"; port: 0 picks a free one."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ServeAddress:
        """ "8000", "0.0.0.0:8000", "localhost:8000" or "[::1]:8000" (host default 127.0.0.1)."""
        spec = text.strip()
        host, sep, port_text = spec.rpartition(":")
        if not sep:
            host, port_text = DEFAULT_HOST, spec
        host = host.strip("[]") or DEFAULT_HOST
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(
                f"--serve must be [HOST:]PORT, e.g. 8000 or 0.0.0.0:8000, got {text!r}"
            ) from None
        if not 0 <= port <= 65535:
            raise ValueError(f"--serve port must be in 0..65535, got {port}")
        if host.lower() not in _LOOPBACK_NAMES:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise ValueError(
                    f"--serve host must be an IP address or localhost, got {host!r}"
                ) from None
        return cls(host, port)

    @property
    def needs_token(self) -> bool:
        """False only for 127.0.0.1, ::1 and localhost; any other address needs a token."""
        return self.host.lower() not in _TOKENLESS


def is_loopback(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1 (a bare name or address)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# an HTTP Host header (RFC 9110 7.2): a bracketed IPv6 address or a name / IPv4 address of
# letters, digits, dots and dashes, then an optional :port of digits; nothing else
# (no userinfo, path, spaces or a second colon)
_HOST_HEADER: Final = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::[0-9]{1,5})?$")


def host_header_is_loopback(header: str) -> bool:
    """Whether an HTTP Host header names this machine by a loopback name or address; a
    malformed header (e.g. `localhost:80@evil.example`) never does."""
    match = _HOST_HEADER.fullmatch(header)
    if match is None:
        return False
    v6, name = match.groups()
    if v6 is not None:
        try:
            return ipaddress.IPv6Address(v6).is_loopback
        except ValueError:
            return False
    return is_loopback(name)


def serve_token(address: ServeAddress, token: str | None) -> str | None:
    """The token requests must carry: `token`, else a new one where needed, else None."""
    if token is not None:
        if len(token) < 8:
            raise ValueError("--serve-token must be at least 8 characters")
        return token
    return secrets.token_urlsafe(18) if address.needs_token else None
