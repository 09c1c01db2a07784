"""IMR delivery: groups, sessions, attendance, recovery goals, fidelity ratings and dose."""
