"""The errors a user can fix (a config, a path, a file): the entry scripts print them as one
line."""


class UserError(Exception):
    """A problem the user can fix (config, paths, files): main prints it as one line."""


class ConfigError(UserError):
    pass
