"""diplostance: stance of countries in contested-leadership crises."""
__version__ = "0.1.0"
