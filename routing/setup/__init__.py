"""Setting the organisation up: CSV import, users, salespeople and lines, demo data."""
