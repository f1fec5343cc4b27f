"""Pure rules by subject (risk, SLA): no I/O, no clock; callers pass `now` and settings."""
