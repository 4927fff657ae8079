"""Models of the delivery domain: arrive with the issue that builds it (see DESIGN.md)."""
