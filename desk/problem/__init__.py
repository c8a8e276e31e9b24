"""Problem tickets (S9): incidents linked to one problem, and the messages to their reporters."""
