"""busd: a client for the busd message bus (docs/python.md).

    import busd
    with busd.connect() as bus:                       # $BUS_ADDRESS, else the user bus
        print(bus.call("org.busd", "ping"))
        bus.publish("sensors.kitchen.temp", {"celsius": 21.5})

The blocking client is busd.Bus / busd.connect(); the asyncio one, with the
same methods as coroutines, is busd.aio.Bus / busd.aio.connect(). Standard
library only; the wire protocol is docs/protocol.md.
"""
from ._base import IncomingCall
from ._wire import (SYSTEM_ADDRESS, Creds, Event, Pidfd, PublishAck, Remote, default_address, parse_address,
                    pattern_matches, user_address)
from .client import Bus, PendingCall, Subscription, connect
from .errors import (AccessError, BusError, CallTimeout, DaemonError, Disconnected, LimitError, RequestError,
                     RoutingError, ServiceError, UntrustedBus)

__version__ = "1.0.0"

__all__ = ["AccessError", "Bus", "BusError", "CallTimeout", "Creds", "DaemonError", "Disconnected", "Event",
           "IncomingCall", "LimitError", "PendingCall", "Pidfd", "PublishAck", "Remote", "RequestError",
           "RoutingError", "SYSTEM_ADDRESS", "ServiceError", "Subscription", "UntrustedBus", "connect", "default_address",
           "parse_address", "pattern_matches", "user_address"]
