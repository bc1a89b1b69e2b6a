"""ValueFlows 1.0 and ActivityStreams vocabulary: pure, no I/O, no database."""
