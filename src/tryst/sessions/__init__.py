"""Transport-agnostic connection state: who is connected, as which persona, and what
each connection still has to be sent."""
