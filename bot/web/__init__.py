"""HTTP: the routes, and validation of the drafts posted to them."""
