"""Command implementations behind `occ-bot` (check, export)."""
