"""Benchmarks: LoCoMo retrieval quality, storage and gateway latency."""
