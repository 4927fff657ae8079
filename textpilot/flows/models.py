"""Models of the flows domain: arrive with the issue that builds it (see DESIGN.md)."""
