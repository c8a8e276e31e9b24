"""Service levels: response and solution targets counted on a business calendar."""
