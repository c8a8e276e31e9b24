"""Statistics: the figures of the desk and its processes, read-only, for the page, API and CSV."""
