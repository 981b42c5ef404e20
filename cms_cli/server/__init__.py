"""`cms serve` (the API over the services) and the client transport the CLI uses when
``server_url`` is set."""
