"""`runs.staged_dir`: a folder is written in full under a temporary name, then replaces the
old one in a rename; readers see one or the other, never half of one or neither."""

from pathlib import Path

import pytest

from trainwell.runs import staged_dir


def _folder(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "file.txt").write_text(text)
    return path


def test_a_staged_folder_replaces_the_old_one_whole(tmp_path):
    final = _folder(tmp_path / "explain", "old")
    with staged_dir(final) as staging:
        assert staging != final and (final / "file.txt").read_text() == "old"
        (staging / "file.txt").write_text("new")
    assert (final / "file.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["explain"]  # nothing left beside it


def test_a_failure_inside_leaves_the_old_folder_and_no_staging(tmp_path):
    final = _folder(tmp_path / "explain", "old")
    with pytest.raises(RuntimeError), staged_dir(final) as staging:
        (staging / "file.txt").write_text("half")
        raise RuntimeError("the writer failed")
    assert (final / "file.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["explain"]


def test_a_failed_final_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    final = _folder(tmp_path / "explain", "old")
    rename = Path.rename

    def failing(self: Path, target: Path) -> Path:
        if Path(target) == final and self.name.startswith(".explain-") and "-old-" not in self.name:
            raise OSError("another writer made the folder meanwhile")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError), staged_dir(final) as staging:
        (staging / "file.txt").write_text("new")
    assert (final / "file.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["explain"]
