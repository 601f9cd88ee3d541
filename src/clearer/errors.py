"""One exception type for mistakes a user can fix; the CLI prints it as a paragraph, not a traceback."""


class ClearerError(Exception):
    """A problem with the user's input (recipe, data, command line) whose message says how to fix it."""
