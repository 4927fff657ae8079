"""Models of the segments domain: arrive with the issue that builds it (see DESIGN.md)."""
