"""The run folder: its file names, records and the modules that write them."""
