"""Benchmarks. `make bench` runs `python -m bench.run` (see README, Performance);
`bench/documents.py` is the documents benchmark on its own."""
