"""busd.errors: one exception class per family of error codes.

Every failure the package raises is a BusError carrying the protocol's code
(`.code`, docs/protocol.md §5, or a service's own code) and its human text
(`.message`); `.data` is the error's `data` member, `.sender` who sent it
(`org.busd`, a unique id, or None for errors made on this side). Checks made
before sending raise the code the daemon would have answered, with
`.local` True and nothing sent. No I/O here.
"""
from typing import Any, Dict, Optional, Type

__all__ = ["BusError", "RequestError", "LimitError", "AccessError", "RoutingError", "DaemonError",
           "ServiceError", "CallTimeout", "Disconnected", "UntrustedBus", "error_class", "from_message"]


class BusError(Exception):
    """An error with a protocol code."""

    code: str
    message: str
    data: Any
    sender: Optional[str]
    local: bool

    def __init__(self, code: str, message: str, data: Any = None, sender: Optional[str] = None,
                 local: bool = False) -> None:
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.data, self.sender, self.local = code, message, data, sender, local


class RequestError(BusError, ValueError):
    """The request itself was wrong: parse_error, invalid_message, unknown_type,
    forged_identity, unsupported_version, hello_required, hello_timeout,
    reserved, not_subscribed, no_such_call, unknown_method, invalid_params."""


class LimitError(BusError):
    """A bound was reached: limit, queue_full, too_large."""


class AccessError(BusError, PermissionError):
    """The access policy said no: denied, revoked."""


class RoutingError(BusError):
    """The call found nobody, or lost its callee: no_owner, callee_gone,
    name_lost, link_down, activation_failed."""


class DaemonError(BusError):
    """The daemon cannot do it: unsupported, internal."""


class ServiceError(BusError):
    """A service's own error code (anything the daemon never sends). Raise it
    from a method handler to answer the caller with that code."""


class CallTimeout(BusError, TimeoutError):
    """Client-side code `timeout`: no answer in time (`cancel` was sent)."""


class Disconnected(BusError, ConnectionError):
    """Client-side code `disconnected`: the connection ended, or the bus is
    between connections."""


class UntrustedBus(BusError, PermissionError):
    """Client-side code `untrusted_bus`: the user bus is not trustworthy (the
    /tmp/busd-$UID fallback directory is not a private directory of this uid
    or root, or the daemon behind the user bus's socket runs as another uid
    than this one or root: a squatter). `.data` is {"path", "uid"}: the path
    and the owner found. Nothing was sent."""


_FAMILIES: Dict[str, Type[BusError]] = {}
for _cls, _codes in ((RequestError, "parse_error invalid_message unknown_type forged_identity unsupported_version "
                      "hello_required hello_timeout reserved not_subscribed no_such_call unknown_method "
                      "invalid_params"),
                     (LimitError, "limit queue_full too_large"),
                     (AccessError, "denied revoked"),
                     (RoutingError, "no_owner callee_gone name_lost link_down activation_failed"),
                     (DaemonError, "unsupported internal"),
                     (CallTimeout, "timeout"),
                     (Disconnected, "disconnected")):
    for _code in _codes.split():
        _FAMILIES[_code] = _cls


def error_class(code: str) -> Type[BusError]:
    """The exception class for a code: its family, or ServiceError."""
    return _FAMILIES.get(code, ServiceError)


def from_message(msg: Dict[str, Any]) -> BusError:
    """The exception for an `error` message."""
    code, text = msg.get("code"), msg.get("message")
    code = code if isinstance(code, str) else "internal"
    text = text if isinstance(text, str) else ""
    return error_class(code)(code, text, msg.get("data"), msg.get("sender"))
