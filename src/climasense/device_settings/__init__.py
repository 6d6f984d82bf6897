"""Device settings: the versioned configuration document of CONTRACT §4.2."""
