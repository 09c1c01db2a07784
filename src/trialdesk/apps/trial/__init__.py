"""The trial itself: the protocol versions it has run under, and its sites."""
