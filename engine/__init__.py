"""Engine package (built by a later issue)."""
