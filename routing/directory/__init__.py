"""The organisation's directory: CSV import, users, salespeople and their lines, demo data."""
