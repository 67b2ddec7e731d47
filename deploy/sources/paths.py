"""The input files named on the command line: files as given, folders for the files in them
that a source reads."""
from pathlib import Path

from ..messages import report_error, warn


def collect_files(paths, failures, wanted, kind):
    """The given files plus the files of the given folders that `wanted(path)` accepts (sorted),
    each once, in order. A path that does not exist is an error line and a failure; a folder
    without any is a warning naming `kind` ('.skeleton files', 'videos')."""
    files, seen = [], set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and wanted(p))
            if not found:
                warn(f'no {kind} in {path}')
        elif path.exists():
            found = [path]
        else:
            report_error(path, 'no such file or folder')
            failures.append(str(path))
            continue
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files
