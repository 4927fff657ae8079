"""Moved: bulk writes live in common/bulk_write.py. This name remains only for
delivery/claims.py, which another branch is changing at the same time; switch its import to
bulk_write and delete this file."""
from textpilot.common.bulk_write import insert_rows

__all__ = ["insert_rows"]
