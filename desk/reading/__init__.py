"""What each agent has read: the unread markers of ticket lists (issue 12)."""
