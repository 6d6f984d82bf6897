"""HTTP plumbing shared by the device and operator APIs: bodies, responses, error mapping."""
