"""Hospital-register data: CPR-keyed extracts, stored as pseudonymised events, counted per period."""
