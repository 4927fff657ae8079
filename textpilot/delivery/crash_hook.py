"""A test-only crash of the dispatcher at the one moment that matters for exactly-once: after
a provider accepted texts and before their results are recorded.

With TEXTPILOT_TEST_MODE=1 (set by the real-process test helpers, never in production),
TEXTPILOT_TEST_EXIT_AFTER_PROVIDER_ACCEPTED=N makes the dispatcher leave with os._exit — as
abruptly as kill -9: no cleanup, no finally, nothing recorded — once providers have accepted
N texts, right after the provider call that got there. A kill from outside lands wherever
it lands; this makes the window certain, so the test can assert that orphans the provider
has were left behind and then recovered. Outside test mode the variable is not even read."""
from __future__ import annotations

import os

EXIT_CODE = 70  # what a dispatcher stopped by this hook exits with


def _exit_after() -> int | None:
    if os.environ.get("TEXTPILOT_TEST_MODE") != "1":
        return None
    value = os.environ.get("TEXTPILOT_TEST_EXIT_AFTER_PROVIDER_ACCEPTED", "")
    return int(value) if value.isdigit() else None


EXIT_AFTER_ACCEPTED = _exit_after()


class CrashHook:
    """Counts accepted texts; `after_provider_accepted` exits once there are enough."""

    def __init__(self, exit_after: int | None = EXIT_AFTER_ACCEPTED):
        self.exit_after, self.accepted = exit_after, 0

    def after_provider_accepted(self, accepted: int) -> None:
        if self.exit_after is None:
            return
        self.accepted += accepted
        if self.accepted >= self.exit_after:
            os.write(2, f"test exit hook: leaving after {self.accepted} accepted texts, the last {accepted} "
                        f"not recorded\n".encode())
            os._exit(EXIT_CODE)
