"""Models of the messaging domain: arrive with the issue that builds it (see DESIGN.md)."""
