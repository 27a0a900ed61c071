"""Question + passages + snapshot -> grounded prompt -> answer."""
