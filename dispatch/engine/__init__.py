"""The assignment engine: pure functions over plain planning data (see `model`)."""
