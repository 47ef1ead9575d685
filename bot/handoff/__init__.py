"""Hand-off to human mediators: the shared queue (more to come: person flow, mediator desk)."""
