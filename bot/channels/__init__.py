"""Channel adapters: the only places that know a platform. Each turns platform input into
``Incoming`` and renders ``Outgoing`` for its platform."""
