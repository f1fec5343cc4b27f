"""Runtime plumbing: the event loop, background work, reliability state, and `serve`."""
