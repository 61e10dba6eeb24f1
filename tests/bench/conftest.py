"""The benchmark smoke tests need nothing beyond the shared fixtures."""
