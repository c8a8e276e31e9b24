"""Time accounting: the minutes agents spend on a ticket, per article or task (issue 14)."""
