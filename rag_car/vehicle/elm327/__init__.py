"""ELM327 OBD-II adapters: reply parsing (protocol), the byte link (link), the adapter client (adapter), the poller (feed)."""
