"""`stepwise b2b` refuses bad arguments with one line and a non-zero exit."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.processes import stepwise


def test_bad_upload_arguments_are_one_line_errors(tmp_path: Path) -> None:
    env = {**os.environ, "STEPWISE_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    bad_partner = stepwise("b2b", "upload", str(tmp_path), "--partner", "Not A Partner", env=env)
    missing = stepwise("b2b", "upload", str(tmp_path / "missing.xml"), "--partner", "acme", env=env)
    bad_name = stepwise("b2b", "upload", __file__, "--partner", "acme", "--name", "a/b.xml", env=env)
    dot_dot = stepwise("b2b", "upload", __file__, "--partner", "acme", "--name", "..", env=env)
    folder = stepwise("b2b", "upload", str(tmp_path), "--partner", "acme", env=env)
    assert (bad_partner.returncode, missing.returncode, bad_name.returncode) == (1, 1, 1)
    assert (dot_dot.returncode, folder.returncode) == (1, 1)
    assert bad_partner.stderr.strip().startswith("stepwise: partner: 'Not A Partner' is not a partner id")
    assert missing.stderr.strip() == f"stepwise: {tmp_path / 'missing.xml'}: no such file"
    plain = "is not a plain object name (no '/', '.' or '..', no control character)"
    assert bad_name.stderr.strip() == f"stepwise: --name: 'a/b.xml' {plain}"
    assert dot_dot.stderr.strip() == f"stepwise: --name: '..' {plain}"
    assert folder.stderr.strip() == f"stepwise: {tmp_path}: is a folder; give one XML file"
    assert all(len(r.stderr.strip().splitlines()) == 1 for r in (bad_partner, missing, bad_name, dot_dot, folder))
