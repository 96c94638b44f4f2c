"""What a request meets when PostgreSQL or Redis is out of reach (stopped, restarting,
unreachable), and how long a client is asked to wait before trying again.

Nothing the request did wrong, and nothing a retry after a while cannot fix: such requests
answer 503 with Retry-After, never 500 (kyvs/views.py for pages, kyvs/api.py for the API),
and leave nothing half-written (each step is one transaction).
"""

import redis.exceptions
from django.db import InterfaceError, OperationalError
from django_redis.exceptions import ConnectionInterrupted

# Errors of the cache's client: what callers that count or store in the cache catch.
CACHE_ERRORS = (ConnectionInterrupted, redis.exceptions.RedisError, OSError)
# Errors that mean a shared store is out of reach, whichever it is.
OUTAGES = (OperationalError, InterfaceError, ConnectionInterrupted, redis.exceptions.RedisError)
# Seconds a client is asked to wait (Retry-After) when a shared store is out of reach.
RETRY_AFTER = 30
