"""The append-only ticket history: who changed what, when, from which value to which."""
