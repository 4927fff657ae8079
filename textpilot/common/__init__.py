"""Plumbing shared by every domain app (errors, small helpers). No models live here."""
