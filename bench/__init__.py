"""Benchmarks of the bot against the Bot API stand-in; ``python -m bench.run``.

See docs/BENCHMARKS.md for what each one measures and the latest figures.
"""
