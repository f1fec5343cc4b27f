"""Thin HTTP clients for the services the bot talks to (Chatwoot, Shopify)."""
