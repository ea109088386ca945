"""Receivers written the way each provider's guide tells its customers to verify."""
