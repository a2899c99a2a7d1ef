"""HTTP: the JSON API, its OpenAPI documentation, and the static client."""
