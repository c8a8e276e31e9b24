"""Customer companies and customer users (who write by mail or use the portal)."""
