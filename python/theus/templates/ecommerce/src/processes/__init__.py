"""Processes of the shop; main.build_engine() registers every @process found here."""
