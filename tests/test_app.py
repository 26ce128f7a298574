import json

from app.main import build_app
from app.status import behaviour_table


def test_app_builds_without_io_at_import():
    assert build_app() is not None


def test_behaviour_table_reads_levels(roots):
    d = roots["checkpoints"] / "behavior" / "hopper"
    d.mkdir(parents=True)
    lv = {k: {"mean": v} for k, v in (("random", -10.0), ("medium", 1200.0), ("expert", 3234.3))}
    (d / "levels.json").write_text(json.dumps(lv))
    rows = {r[0]: r for r in behaviour_table()}
    assert rows["hopper"][1:4] == [-10.0, 1200.0, 3234.3] and rows["hopper"][4] == "100"
    assert rows["walker2d"][-1] == "not trained yet"
