"""Device keys and admin tokens: format, hashing, lookup, and the in-process cache."""
