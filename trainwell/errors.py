"""Errors that mean "the user's input is wrong": the CLI prints them as one line, exit code 2."""


class InputError(ValueError):
    """Bad input (config, data, path). The message names the problem in one line."""


class ConfigError(InputError):
    """An invalid configuration key or value."""


class DataError(InputError):
    """Data that cannot be loaded or trained on as configured."""
