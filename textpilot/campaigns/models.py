"""Models of the campaigns domain: arrive with the issue that builds it (see DESIGN.md)."""
