"""What deployment says on stderr: one `error:` line per problem, warnings and notices; stdout
holds only the results."""
import sys


class InferError(Exception):
    """A problem the user can fix; printed as one `error:` line."""


def one_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else str(text)


def report_error(source, reason):
    print(f'error: {source}: {one_line(reason)}', file=sys.stderr)


def warn(message):
    print(f'warning: {one_line(message)}', file=sys.stderr)


def notice(message):
    print(f'notice: {message}', file=sys.stderr)
