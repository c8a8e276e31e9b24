"""Articles (the entries of a ticket) and their attachments."""
