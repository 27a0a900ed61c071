"""CAN frames -> decoded signals -> live snapshot."""
