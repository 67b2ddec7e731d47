"""The layout the project keeps: no module over 400 lines outside the CPU backend's kernels, no
function over 60 lines, and the exporter and visualiser take what they need as arguments, never
the processor."""
import ast

from utils.config import REPO_DIR

MAX_LINES = 400


def project_modules():
    return [path for path in REPO_DIR.rglob('*.py')
            if not {'.git', 'data', 'workdir'} & set(path.relative_to(REPO_DIR).parts)]


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_module_outside_the_cpu_backend_is_over_400_lines():
    backend = REPO_DIR / 'model' / 'cpu_backend'
    long = {str(p.relative_to(REPO_DIR)): n for p in project_modules()
            if backend not in p.parents and (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long


def test_exporter_and_visualizer_never_import_the_processor():
    paths = [*(REPO_DIR / 'exporter').rglob('*.py'), REPO_DIR / 'visualizer.py']
    assert len(paths) > 1
    importers = [str(p.relative_to(REPO_DIR)) for p in paths
                 if any(name.split('.')[0] == 'processor' for name in imported_modules(p))]
    assert not importers


MAX_FUNCTION_LINES = 60


def test_no_function_is_over_60_lines():
    long = {}
    for path in project_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                long[f'{path.relative_to(REPO_DIR)}:{node.name}'] = \
                    node.end_lineno - node.lineno + 1
    assert not long
