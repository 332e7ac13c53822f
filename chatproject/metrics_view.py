"""`GET /metrics`: every metric in Prometheus' text format, for allowed addresses or the metrics token.

Not public: allowed from METRICS_ALLOWED_CIDRS (loopback by default) or with
`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets the JSON 404 of an unknown URL, so the
endpoint's existence is not revealed. Under several Daphne processes (PROMETHEUS_MULTIPROC_DIR set,
chatproject.serve), whichever answers sums every process's values from their files.
"""

import functools
import hmac
import ipaddress
import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from chatproject.errors import NotFoundError, error_json_response

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def allowed_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """METRICS_ALLOWED_CIDRS parsed; a malformed entry is a configuration error."""
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_CIDRS: {exc}") from exc


def client_address(request: HttpRequest) -> str:
    """The client's address as the throttles see it: REMOTE_ADDR (which Daphne's --proxy-headers sets
    from the proxy's X-Forwarded-For), or with NUM_PROXIES the address that many proxies back."""
    num_proxies: int = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0  # type: ignore[assignment]
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",")]
        return addresses[-min(num_proxies, len(addresses))]
    return str(request.META.get("REMOTE_ADDR") or "")


def address_allowed(address: str) -> bool:
    """Whether `address` lies in METRICS_ALLOWED_CIDRS (an IPv4-mapped IPv6 address as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in allowed_networks(tuple(settings.METRICS_ALLOWED_CIDRS)))


def token_allowed(request: HttpRequest) -> bool:
    """Whether the request carries `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time)."""
    expected = settings.METRICS_TOKEN
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(offered.strip().encode(), expected.encode())


def registry() -> CollectorRegistry:
    """Every process's values under multiprocess mode, else this process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return combined
    return REGISTRY


def metrics(request: HttpRequest) -> HttpResponse:
    """Every metric, as Prometheus scrapes it; a JSON 404 for a caller that may not read them."""
    if not (address_allowed(client_address(request)) or token_allowed(request)):
        return error_json_response(NotFoundError())
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
