"""Models of the growth domain: arrive with the issue that builds it (see DESIGN.md)."""
