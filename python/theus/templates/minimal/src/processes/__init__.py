"""Processes of this project; main.build_engine() registers every @process found here."""
