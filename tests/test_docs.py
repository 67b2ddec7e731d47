"""The README and docs/: every code block is fenced and says what it is, and what it claims
holds. A block's info string is its language and tags:
- `run`: the test runs it (Python blocks, with the shared clip in place of `clip.mp4`);
- `tested-by:PATH[::TEST],...`: tests that run what it shows (each must exist; every flag of its
  commands must appear in one of them);
- `needs:gpu`, `needs:ntu` (NTU's full data), `needs:files` (files of your own): what this machine
  lacks; their `main.py` and `infer.py` commands must still parse, and the configs exist;
- `example` (a layout or record shown, not run), `config` (a YAML config: it must load) and the
  language `text` (output shown).
Links to other pages must resolve."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import run_python
from utils.config import REPO_DIR

PAGES = [REPO_DIR / 'README.md', *sorted((REPO_DIR / 'docs').glob('*.md'))]
LANGUAGES = {'sh', 'python', 'yaml', 'text'}
NEEDS = {'gpu', 'ntu', 'files'}
FENCE = re.compile(r'^( *)```(.*)$')


def blocks(page):
    """(page, line, language, tags, code) of each fenced block."""
    lines, found, start = page.read_text().split('\n'), [], None
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if not match:
            continue
        if start is None:
            start, indent, info = number, len(match.group(1)), match.group(2).split()
        else:
            code = '\n'.join(l[indent:] for l in lines[start:number - 1])
            found.append((page.relative_to(REPO_DIR).as_posix(), start, info[0] if info else '',
                          info[1:], code))
            start = None
    assert start is None, f'{page}: the block at line {start} is never closed'
    return found


ALL = [block for page in PAGES for block in blocks(page)]


def block_id(block):
    return f'{block[0]}:{block[1]}'


def tag_values(tags, name):
    return [value for tag in tags if tag.startswith(f'{name}:')
            for value in tag.split(':', 1)[1].split(',')]


def commands(code):
    """Each command of a shell block as arguments: comments and [optional] parts removed,
    continuation lines joined, commands joined by && apart."""
    text = re.sub(r'\\\n\s*', ' ', code)
    for line in re.split(r'\n|&&', text):
        line = re.sub(r'\[[^\]]*\]', '', line.split(' #')[0]).strip()
        if line:
            yield shlex.split(line)


def test_pages_and_blocks_are_there():
    assert (REPO_DIR / 'docs').is_dir() and len(PAGES) >= 9
    assert len(ALL) >= 20


@pytest.mark.parametrize('page', PAGES, ids=lambda p: p.name)
def test_no_code_block_escapes_the_fences(page):
    """An indented block after a blank line or a heading would be code the checks below never
    see."""
    inside, previous = False, ''
    for number, line in enumerate(page.read_text().split('\n'), 1):
        if FENCE.match(line):
            inside = not inside
        elif not inside and line.startswith('    ') and (not previous.strip()
                                                         or previous.startswith('#')):
            pytest.fail(f'{page.name}:{number}: an indented code block; fence it with its tags')
        previous = line


@pytest.mark.parametrize('block', ALL, ids=block_id)
def test_every_block_says_what_it_is(block):
    _, _, language, tags, _ = block
    assert language in LANGUAGES, f'{block_id(block)}: language {language!r}'
    known = {'run', 'example', 'config'}
    for tag in tags:
        assert tag in known or tag.startswith(('needs:', 'tested-by:')), tag
    assert not set(tag_values(tags, 'needs')) - NEEDS
    if language in ('sh', 'python'):
        assert set(tags) & {'run', 'example'} or any(
            t.startswith(('needs:', 'tested-by:')) for t in tags), \
            f'{block_id(block)}: say whether it runs, which test runs it, or what it needs'


def test_tested_by_names_tests_that_exist_and_use_the_flags():
    for block in ALL:
        tests = tag_values(block[3], 'tested-by')
        if not tests:
            continue
        texts = []
        for test in tests:
            path, _, name = test.partition('::')
            assert (REPO_DIR / path).is_file(), f'{block_id(block)}: {path} does not exist'
            texts.append((REPO_DIR / path).read_text())
            if name:
                assert re.search(rf'def {re.escape(name)}\b', texts[-1]), test
        if block[2] != 'sh':
            continue
        for argv in (a for a in commands(block[4]) if {'main.py', 'infer.py'} & set(a)):
            for flag in (a for a in argv if a.startswith('-') and a != '-m'):
                assert any(flag in text for text in texts), \
                    f'{block_id(block)}: no test of {tests} uses {flag}'


def parse_command(argv):
    """main.py's and infer.py's own parsers accept the command, and its numbered config
    exists."""
    import infer
    import main
    if argv[:2] == ['python', 'main.py']:
        args = main.build_parser().parse_args(argv[2:])
        if str(args.config).isdigit():
            assert (REPO_DIR / 'configs' / f'{args.config}.yaml').is_file(), args.config
    elif argv[:2] == ['python', 'infer.py']:
        infer.build_parser().parse_args(argv[2:])


@pytest.mark.parametrize('block', [b for b in ALL if b[2] == 'sh'], ids=block_id)
def test_shell_commands_parse(block):
    for argv in commands(block[4]):
        if argv[0] == 'python' and len(argv) > 1 and argv[1] in ('main.py', 'infer.py'):
            parse_command(argv)
        elif argv[:2] == ['python', 'main.py'] or 'main.py' in argv:
            parse_command(['python', 'main.py', *argv[argv.index('main.py') + 1:]])


@pytest.mark.parametrize('block', [b for b in ALL if b[2] == 'yaml'], ids=block_id)
def test_yaml_blocks_read(block, tmp_path):
    content = yaml.safe_load(block[4])
    assert isinstance(content, dict)
    if 'config' in block[3]:
        from utils.config import load_config
        path = tmp_path / 'my.yaml'
        path.write_text(block[4])
        cfg = load_config(str(path))
        assert all(key in cfg for key in content if key != '_base_')


def placeholder_values(code, request):
    """The files a run block names, as the test has them: the shared drinking clip for
    'clip.mp4', the published X-view model exported for 'xview.json'."""
    from conftest import DRINK_CLIP, VIDEO_DIR, need_clip, need_mediapipe
    values = {}
    if "'clip.mp4'" in code:
        need_clip(DRINK_CLIP)
        need_mediapipe()
        values["'clip.mp4'"] = repr(str(VIDEO_DIR / DRINK_CLIP))
    if "'xview.json'" in code:
        values["'xview.json'"] = repr(str(request.getfixturevalue('exported_xview')))
    return values


@pytest.mark.parametrize('block', [b for b in ALL if b[2] == 'python' and 'run' in b[3]],
                         ids=block_id)
def test_python_blocks_run(block, request):
    code = block[4]
    for placeholder, value in placeholder_values(code, request).items():
        code = code.replace(placeholder, value)
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO_DIR, capture_output=True,
                            text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f'{block_id(block)}:\n{result.stderr[-3000:]}'
    assert 'Traceback' not in result.stderr
    if 'predict_video' in code:   # the drinking clip: its window, one person, the summary
        lines = result.stdout.splitlines()
        assert re.match(r'\s*0\.00-\s*3\.4\d s  1 people  ', lines[0]), lines
        assert lines[-1].endswith('1 person tracked'), lines


@pytest.mark.parametrize('page', PAGES, ids=lambda p: p.name)
def test_links_resolve(page):
    for target in re.findall(r'\]\(([^)#\s]+)(?:#[^)]*)?\)', page.read_text()):
        if not target.startswith('http'):
            assert (page.parent / target).exists(), f'{page.name}: link to {target}'
