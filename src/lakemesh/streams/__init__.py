"""Long-running follow loops (CDC now; Kafka and continuous runs next): drain, wait, back off, stop."""

from __future__ import annotations

from lakemesh.streams.follow import MAX_BACKOFF, follow, stop_on_sigterm

__all__ = ["MAX_BACKOFF", "follow", "stop_on_sigterm"]
