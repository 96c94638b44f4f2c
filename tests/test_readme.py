"""The README's configuration table names every environment variable the portal reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ_BY_SETTINGS = re.compile(r"""\benv[a-z]*\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def configuration_table() -> str:
    """The README's rows that document a variable: `| `NAME` | default | meaning |`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return "\n".join(line for line in readme.splitlines() if line.startswith("| `"))


def test_every_environment_variable_the_settings_read_is_in_the_readme_table():
    names = set(READ_BY_SETTINGS.findall((ROOT / "kyvs" / "settings.py").read_text()))
    assert len(names) > 40  # the pattern still finds how settings.py reads the environment
    table = configuration_table()
    missing = sorted(name for name in names if f"`{name}`" not in table)
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_gunicorns_worker_count_variable_is_in_the_readme_table():
    assert "WEB_CONCURRENCY" in (ROOT / "gunicorn.conf.py").read_text()
    assert "`WEB_CONCURRENCY`" in configuration_table()
