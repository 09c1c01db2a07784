"""Staff, their roles at sites, and the one permission check (design principle 6)."""
