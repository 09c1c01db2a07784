"""Participants: pseudonymous trial ids, the encrypted personal-data key table and the status pipeline."""
