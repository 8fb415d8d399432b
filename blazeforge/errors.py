"""The one user-facing error type.

Every problem caused by the user's input (a file, a config field, a checkpoint) is raised as a
`BlazeforgeError` whose message is a single line naming the file or field and what was expected.
The CLI prints that line and exits with status 2 instead of showing a traceback.
"""


class BlazeforgeError(Exception):
    """A one-line, user-facing error: `<file or field>: <what was expected>`."""

    def __init__(self, where: str, expected: str):
        self.where = str(where)
        self.expected = expected
        super().__init__(f"{self.where}: {expected}")

    def __reduce__(self):  # picklable, so it crosses process pools with its two parts
        return type(self), (self.where, self.expected)
