"""Two runners of one config started in the same second each get their own
visualizer (mmengine would hand the second one the first's instance, whose
scalars go to the first run's log dir)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_tools'))
from conftest import QUICKSTART, tiny_quickstart_options  # noqa: E402


def test_same_second_runners_have_their_own_visualizers(tmp_path,
                                                        monkeypatch):
    import time

    from posekit.apis.training import build_runner, load_config
    # freeze the clock mmengine's timestamp (experiment name) is taken from
    monkeypatch.setattr(time, 'localtime', lambda *a: time.struct_time(
        (2026, 1, 2, 3, 4, 5, 4, 2, 0)))
    runners = []
    for name in ('a', 'b'):
        cfg = load_config(str(QUICKSTART),
                          tiny_quickstart_options(tmp_path / 'data', 1))
        cfg.work_dir = str(tmp_path / name)
        runners.append(build_runner(cfg))
    first, second = runners
    assert first.experiment_name == second.experiment_name
    assert first.visualizer is not second.visualizer
    for runner, name in zip(runners, 'ab'):
        save_dir = runner.visualizer._vis_backends[
            'LocalVisBackend']._save_dir
        assert Path(save_dir).is_relative_to(tmp_path / name)
