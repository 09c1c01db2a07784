"""Data-management pages. Every view checks ``allowed()``; refusals are shown at the field or page and
store nothing."""
