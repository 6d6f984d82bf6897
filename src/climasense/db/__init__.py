"""PostgreSQL access: the pool, the embedded server, and versioned migrations."""
