"""Mail package (built by a later issue)."""
