"""Benchmark of occ-bot against a bare Bolt app: ack latency, end-to-end approvals, click → card
latency as operators see it, start-up.

Run it with `.venv/bin/python -m bench.run` (see bench/README.md). Not a test: nothing here
asserts timings; it measures and reports.
"""
