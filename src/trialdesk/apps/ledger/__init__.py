"""The append-only, hash-chained audit ledger every trusted write goes through (design principle 3)."""
