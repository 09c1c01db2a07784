"""Consent: versioned documents from the protocol, consent records, declines and withdrawals."""
