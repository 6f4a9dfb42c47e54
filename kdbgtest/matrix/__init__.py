"""The version matrix: the same suite on several clusters, and a report of what changed between them."""
