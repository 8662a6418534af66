"""The read side: projections rebuilt from the client streams."""
