"""Models of the analytics domain: arrive with the issue that builds it (see DESIGN.md)."""
