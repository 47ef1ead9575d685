"""Platform-free conversation handlers: they turn understood input into ``Outgoing`` replies."""
