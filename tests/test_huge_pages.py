"""runtime.restart_with_huge_pages: the script runs again with glibc's huge-page tunable, its
arguments intact, once; a user's own GLIBC_TUNABLES or the opt-out leaves it alone; main.py
and infer.py do it when they start."""
import os
from pathlib import Path

import pytest

from helpers import run_python
from utils.runtime import glibc_reads_huge_page_tunable

REPO = Path(__file__).resolve().parents[1]
SCRIPT = ('import os, sys; sys.path.insert(0, {repo!r}); from utils import runtime; '
          'runtime.restart_with_huge_pages(); print(os.environ.get("GLIBC_TUNABLES"), sys.argv[1:])')


def environment_without_huge_page_settings():
    return {k: v for k, v in os.environ.items()
            if k not in ('GLIBC_TUNABLES', 'EFFICIENTGCN_NO_HUGE_PAGES')}


def run(env_changes):
    env = {**environment_without_huge_page_settings(), **env_changes}
    # a restart that looped would never end: the timeout catches it
    result = run_python('-c', SCRIPT.format(repo=str(REPO)), '0', 'x y', env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_restarts_once_with_the_tunable_and_the_same_arguments():
    if not glibc_reads_huge_page_tunable():
        pytest.skip('needs Linux with glibc 2.35 or newer')
    assert run({}) == "glibc.malloc.hugetlb=1 ['0', 'x y']"


def test_a_users_tunables_and_the_opt_out_are_left_alone():
    assert run({'GLIBC_TUNABLES': 'glibc.malloc.arena_max=2'}) == \
        "glibc.malloc.arena_max=2 ['0', 'x y']"
    assert run({'EFFICIENTGCN_NO_HUGE_PAGES': '1'}) == "None ['0', 'x y']"


@pytest.mark.parametrize('script, arguments', [
    ('main.py', ['-c', '9999']),                                    # stops at the config
    ('infer.py', ['--model_file', 'missing/model.json']),          # stops at the model file
])
def test_the_entry_scripts_restart_with_the_tunable(tmp_path, script, arguments):
    """Each Python start records its GLIBC_TUNABLES through a sitecustomize on PYTHONPATH: the
    script starts twice, the second time with the tunable, and still reports its own error."""
    if not glibc_reads_huge_page_tunable():
        pytest.skip('needs Linux with glibc 2.35 or newer')
    starts = tmp_path / 'starts.txt'
    (tmp_path / 'sitecustomize.py').write_text(
        'import os\n'
        f'with open({str(starts)!r}, "a") as f:\n'
        '    f.write(os.environ.get("GLIBC_TUNABLES", "-") + "\\n")\n')
    env = environment_without_huge_page_settings()
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(tmp_path), env.get('PYTHONPATH')]))
    result = run_python(script, *arguments, env=env, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith('error:'), result.stderr
    assert starts.read_text().split() == ['-', 'glibc.malloc.hugetlb=1']
