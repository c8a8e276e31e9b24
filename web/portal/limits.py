"""How often sign-in links may be asked for: per address asked for, and per client address.

On the login limiter's storage (Redis with the database behind it, or the database), so
every worker counts together and the limit holds in the embedded mode too.  Every request
counts (not only failures, as for passwords): each one sends a mail.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.strategies import FixedWindowRateLimiter

from web.auth import get_limiter
from web.auth.limiter import normalise_login

# One inbox gets at most three links in a quarter of an hour: enough for a lost mail,
# too few to flood someone's mailbox from the form.
PER_EMAIL = RateLimitItemPerMinute(3, 15)
# One client asks for at most twenty links an hour, whatever the addresses.
PER_ADDRESS = RateLimitItemPerHour(20)


def link_refusal(*, email: str, address: str) -> int | None:
    """Seconds to wait when this request for a link is over a limit, else None (and counted)."""
    windows = FixedWindowRateLimiter(get_limiter().storage)
    checks: tuple[tuple[RateLimitItem, str, str], ...] = (
        (PER_ADDRESS, "portal-link-address", address),
        (PER_EMAIL, "portal-link-email", normalise_login(email)),
    )
    for item, kind, key in checks:
        if not windows.test(item, kind, key):
            reset = windows.get_window_stats(item, kind, key).reset_time
            return max(1, math.ceil(reset - time.time()))
    for item, kind, key in checks:
        windows.hit(item, kind, key)
    return None
