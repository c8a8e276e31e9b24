"""Content-addressed storage of bytes (attachments, raw mails), keyed by SHA-256."""
