"""The screening log: every screened person, eligible or not, with the answers and reasons."""
