"""Django settings, every value read from the environment, split by concern.

- `base`: the Django core (secret, hosts, apps, middleware, templates, security, logging);
- `data`: PostgreSQL or SQLite, Redis for the channel layer and the cache;
- `api`: authentication, JWT, DRF, the OpenAPI schema and CORS;
- `files`: static files, uploads and their storage;
- `chat`: the chat's own settings, one namespace (`CHAT`) read through `chatproject.conf.chat_settings`;
- `observability`: /metrics and the log format (JSON with request ids).

django-environ is used (rather than dj-database-url) because one well-kept library then parses every
kind of setting we need: database and cache URLs, booleans, lists and ints.
"""

from .api import *  # noqa: F403
from .base import *  # noqa: F403
from .chat import *  # noqa: F403
from .data import *  # noqa: F403
from .files import *  # noqa: F403
from .observability import *  # noqa: F403
