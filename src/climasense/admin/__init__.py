"""The operator API (`/admin/v1`): shared dependencies and the router that gathers domains."""
