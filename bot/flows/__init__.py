"""Workflows: one module per flow, each holding its one permission check.

Handlers and HTTP routes only parse, acknowledge and hand off one call to a flow.
"""
