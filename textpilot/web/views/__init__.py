"""Dashboard views: thin, they call the domain services and render templates."""
