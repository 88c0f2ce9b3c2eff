"""The domain: work orders, the company they serve, and the assignment engine.

Pure Python: this package imports nothing from the rest of the project and no third-party
library, so it can be tested and benchmarked on plain data.
"""
