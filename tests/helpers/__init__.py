"""Helpers shared by test modules of every tier (a test module imports from here, never
from another test module)."""
