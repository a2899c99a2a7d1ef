"""Pure domain: rules and state transitions, standard library only, no I/O."""
