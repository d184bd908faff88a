"""The loops that run beside the web process (or in `cabinet worker`): each owns its
transactions and calls services that never commit."""
