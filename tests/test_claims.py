"""Every labelled equation and claim of the lecture notes is checked or cited, and every check names a real label.

The conventions are in ``derivations/README.md``: a displayed equation ends with ``$$ (label)``, a claim is preceded
by a MyST target line ``(label)=``; a check is a ``# checks: label, ...`` comment on an assertion in a solved notebook
or a test; a citation names a work of the note's "References" list by its first author's surname and its year.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from latent_course.tools.solutions import ROOT
from latent_course.topics import topics

pytestmark = pytest.mark.full_course  # about the solved notebooks or the repository: not in a student edition

NOTES = ROOT / "derivations"
# Every note's displayed equations carry a label, and its references name an author and a year.
FULLY_LABELLED = topics()
CHECK_SOURCES = ["solutions/*.py", "tests/*.py"]

LABEL = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
TARGET_LINE = re.compile(r"^\((?P<label>[^()\s]*)\)=\s*$")
EQUATION_END = re.compile(r"\$\$\s*(?:\((?P<label>[^()\s]*)\))?\s*$")
CHECK_COMMENT = re.compile(r"#\s*checks:\s*(?P<labels>.*)$")
YEAR = re.compile(r"\b(?:1[6-9]|20)\d\d\b")


def parse_note(text, name="note"):
    """The labels of one note, its unlabelled displays and its syntax problems.

    Returns
    -------
    labels : dict
        label -> the text of its block (the paragraph or list after a target, or the paragraph and display
        of an equation), for finding citations.
    unlabelled : list of int
        Line numbers (1-based) of displayed equations without a label.
    problems : list of str
        Malformed labels.
    """
    lines = text.splitlines()
    labels, unlabelled, problems = {}, [], []

    def add(label, line_number, block):
        if not re.fullmatch(LABEL, label):
            problems.append(f"{name}:{line_number}: label {label!r} is not lowercase kebab-case starting with a letter")
        elif label in labels:
            problems.append(f"{name}:{line_number}: label {label!r} is defined twice")
        labels[label] = block

    def paragraph_from(start, step):
        """Lines from `start` in direction `step` up to a blank line (exclusive)."""
        found, index = [], start
        while 0 <= index < len(lines) and lines[index].strip():
            found.append(lines[index])
            index += step
        return found if step > 0 else found[::-1]

    in_fence, index = False, 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and (target := TARGET_LINE.match(line)):
            add(target["label"], index + 1, "\n".join(paragraph_from(index + 1, 1)))
        elif not in_fence and line.lstrip().startswith("$$"):
            start = index
            if line.count("$$") < 2:  # a display over several lines: find its closing line
                index += 1
                while index < len(lines) and "$$" not in lines[index]:
                    index += 1
            closing = EQUATION_END.search(lines[min(index, len(lines) - 1)])
            if closing is None or closing["label"] is None:
                unlabelled.append(start + 1)
            else:
                before = start - 1 if start > 0 and lines[start - 1].strip() else start - 2
                block = paragraph_from(before, -1) + lines[start:index + 1]
                add(closing["label"], index + 1, "\n".join(block))
        index += 1
    return labels, unlabelled, problems


def references(text):
    """(first author's surname, year) of every entry of the "References" section."""
    match = re.search(r"^## References\s*$(?P<body>.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if not match:
        return []
    entries = re.split(r"^\* ", match["body"], flags=re.M)[1:]
    keys = []
    for entry in entries:
        authors = entry.split(", *")[0]
        first_author = re.split(r",\s*|\s+and\s+", authors)[0]
        years = YEAR.findall(entry)
        keys.append((first_author.split()[-1], years[-1] if years else None))
    return keys


def cites(block, keys):
    """Whether the block names a reference: its first author's surname and its year."""
    return any(year and surname in block and re.search(rf"\b{year}\b", block) for surname, year in keys)


def check_comments(source, name="source"):
    """The labels named by ``# checks:`` comments, and the comments not placed on an assertion.

    A comment belongs to the statement on its line, or, alone on its line, to the next statement. That statement
    must be an ``assert``, call a function whose name contains ``assert``, or be a ``with pytest.raises(...)``.
    """
    tree = ast.parse(source)
    statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]

    def statement_at(line, alone):
        if not alone:  # the innermost statement holding the line
            containing = [node for node in statements if node.lineno <= line <= node.end_lineno]
            return min(containing, key=lambda node: node.end_lineno - node.lineno) if containing else None
        following = [node for node in statements if node.lineno > line]  # the next statement, innermost first
        return min(following, key=lambda node: (node.lineno, node.end_lineno)) if following else None

    def asserts(node):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.With):  # `with pytest.raises(...)` asserts that its body raises
            return any("raises" in ast.unparse(item.context_expr) for item in node.items)
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.For | ast.While | ast.If):
            return False  # a comment on a block header does not check anything by itself
        return any(isinstance(call, ast.Call) and "assert" in ast.unparse(call.func) for call in ast.walk(node))

    assigned = {}  # a name assigned exactly once, by a single `name = expression`: its expression
    for node in statements:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        once = isinstance(node, ast.Assign) and len(targets) == 1 and target is leaf
                        assigned[leaf.id] = node.value if once and leaf.id not in assigned else None

    def expression(node):
        if isinstance(node, ast.Name) and assigned.get(node.id) is not None:
            return ast.unparse(assigned[node.id])
        return ast.unparse(node)

    def tautological(node):
        """Whether the assertion compares an expression with itself (directly, or through a name assigned from
        the same expression): it then checks nothing about the claim."""
        for part in ast.walk(node):
            if isinstance(part, ast.Compare):
                sides = [part.left, *part.comparators]
                if any(expression(a) == expression(b) for a, b in zip(sides, sides[1:], strict=False)):
                    return True
            elif isinstance(part, ast.Call) and "assert" in ast.unparse(part.func) and len(part.args) >= 2:
                if expression(part.args[0]) == expression(part.args[1]):
                    return True
        return False

    found, misplaced = {}, []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or not (match := CHECK_COMMENT.search(token.string)):
            continue
        line = token.start[0]
        node = statement_at(line, alone=not token.line[:token.start[1]].strip())
        if node is None or not asserts(node):
            misplaced.append(f"{name}:{line}: '# checks:' must sit on an assertion")
        elif tautological(node):
            misplaced.append(f"{name}:{line}: '# checks:' sits on an assertion that compares a value with itself")
        for label in filter(None, (part.strip() for part in match["labels"].split(","))):
            found.setdefault(label, []).append(f"{name}:{line}")
    return found, misplaced


def _notes():
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(NOTES.glob("[0-9][0-9]_*.md"))}


def _all_checks():
    found, misplaced = {}, []
    for pattern in CHECK_SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            labels, wrong = check_comments(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
            misplaced += wrong
            for label, places in labels.items():
                found.setdefault(label, []).extend(places)
    return found, misplaced


def _all_labels():
    labels, problems = {}, []
    for name, text in _notes().items():
        note_labels, _, note_problems = parse_note(text, f"derivations/{name}.md")
        problems += note_problems
        keys = references(text)
        for label, block in note_labels.items():
            if label in labels:
                problems.append(f"label {label!r} is defined in {labels[label][0]} and in {name}")
            labels[label] = (name, cites(block, keys))
    return labels, problems


# The course's notes and checks -------------------------------------------------------------------------------------

def test_labels_are_well_formed_and_unique_across_the_notes():
    _, problems = _all_labels()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", FULLY_LABELLED)
def test_every_displayed_equation_has_a_label(name):
    _, unlabelled, _ = parse_note((NOTES / f"{name}.md").read_text(encoding="utf-8"))
    assert not unlabelled, f"derivations/{name}.md: displayed equations without a label at lines {unlabelled}"


def test_every_label_is_checked_or_cited():
    labels, _ = _all_labels()
    checked, _ = _all_checks()
    bare = [f"{label} (derivations/{name}.md)" for label, (name, cited) in labels.items()
            if not cited and label not in checked]
    assert not bare, ("labels with neither a '# checks:' assertion nor a citation of the note's references:\n"
                      + "\n".join(bare))


def test_every_check_names_an_existing_label():
    labels, _ = _all_labels()
    checked, _ = _all_checks()
    unknown = [f"{label} ({', '.join(places)})" for label, places in checked.items() if label not in labels]
    assert not unknown, "checks name labels that no note defines:\n" + "\n".join(unknown)


def test_every_check_comment_sits_on_an_assertion():
    _, misplaced = _all_checks()
    assert not misplaced, "\n".join(misplaced)


@pytest.mark.parametrize("name", FULLY_LABELLED)
def test_every_reference_entry_names_an_author_and_a_year(name):
    keys = references((NOTES / f"{name}.md").read_text(encoding="utf-8"))
    assert keys and all(year for _, year in keys), f"derivations/{name}.md has a reference without a year"


# The parser itself, on small inputs --------------------------------------------------------------------------------

NOTE = """# A note

(first-claim)=
The mean of two numbers is their sum over 2, as Gauss (1801) knew.

Some text before
$$a = b$$ (one-line)

$$
c = d
$$ (multi-line)

$$e = f$$

```
$$g = h$$
(not-a-label)=
```

(Bad_Label)=
Text.

## References

* C. F. Gauss, *Disquisitiones arithmeticae*, Leipzig (1801).
"""


def test_the_parser_finds_targets_and_equation_labels_with_their_blocks():
    labels, unlabelled, problems = parse_note(NOTE)
    assert sorted(labels) == ["Bad_Label", "first-claim", "multi-line", "one-line"]
    assert labels["first-claim"] == "The mean of two numbers is their sum over 2, as Gauss (1801) knew."
    assert labels["one-line"] == "Some text before\n$$a = b$$ (one-line)"
    assert unlabelled == [13]
    assert problems == ["note:20: label 'Bad_Label' is not lowercase kebab-case starting with a letter"]


def test_the_parser_reports_a_label_defined_twice():
    _, _, problems = parse_note("(twice)=\nA.\n\n$$x$$ (twice)\n")
    assert problems == ["note:4: label 'twice' is defined twice"]


def test_a_citation_needs_the_surname_and_the_year_of_a_reference():
    keys = references(NOTE)
    assert keys == [("Gauss", "1801")]
    assert cites("as Gauss (1801) showed", keys)
    assert not cites("as Gauss showed", keys)
    assert not cites("as Euler (1801) showed", keys)


def test_check_comments_count_only_on_assertions():
    source = "\n".join([
        "import numpy as np",
        "x = f(1)  # checks: on-an-assignment",
        "assert x == 1  # checks: inline, second",
        "# checks: above",
        "np.testing.assert_allclose(x, 1)",
        "np.testing.assert_allclose(",
        "    x, 1)  # checks: multi-line-call",
        "text = '# checks: in-a-string'",
        "def f():  # checks: on-a-def",
        "    # checks: above-an-indented-assert",
        "    assert x",
        "with pytest.raises(ValueError):  # checks: raises",
        "    f()",
    ])
    found, misplaced = check_comments(source, "example.py")
    assert sorted(found) == ["above", "above-an-indented-assert", "inline", "multi-line-call", "on-a-def",
                             "on-an-assignment", "raises", "second"]
    assert misplaced == ["example.py:2: '# checks:' must sit on an assertion",
                         "example.py:9: '# checks:' must sit on an assertion"]


def test_a_check_comment_on_a_tautology_is_caught():
    source = "\n".join([
        "import numpy as np",
        "gram = F.T @ F",
        "np.testing.assert_allclose(F.T @ F, gram)  # checks: same-expression-through-a-name",
        "assert x == x  # checks: same-expression",
        "np.testing.assert_allclose(x, x, rtol=1e-9)  # checks: same-arguments",
        "np.testing.assert_allclose(F.T @ F, F @ F.T)  # checks: a-real-comparison",
        "y = 1",
        "y = 2",
        "assert y == 2  # checks: reassigned-name",
        "assert len(x) == 3  # checks: with-a-literal",
    ])
    _, misplaced = check_comments(source, "example.py")
    assert misplaced == [f"example.py:{line}: '# checks:' sits on an assertion that compares a value with itself"
                         for line in (3, 4, 5)]


def test_a_check_of_a_removed_label_and_an_unchecked_label_are_both_caught(tmp_path):
    note = "(kept)=\nA claim.\n\n(unchecked)=\nAnother claim.\n"
    labels, _, _ = parse_note(note)
    found, _ = check_comments("assert True  # checks: kept, removed\n")
    assert [label for label in labels if label not in found and not cites(labels[label], [])] == ["unchecked"]
    assert [label for label in found if label not in labels] == ["removed"]


def test_the_conventions_are_documented_beside_the_notes():
    text = Path(NOTES / "README.md").read_text(encoding="utf-8")
    assert "(label)=" in text and "# checks:" in text and "References" in text
