"""Pure decisions: no I/O, no clock, no randomness. Everything here takes values and returns values."""
