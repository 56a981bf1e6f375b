"""Inputs are confined to the study folder (plus `inputs_root`); study.yaml keys are unique."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from schemas.study_config import ConfigError, InputPathError, load_study_config
from tasks.storage.runs import config_inputs, ingest_inputs
from tasks.storage.store import open_store
from tests.schemas.test_study_config import MINIMAL

INPUT_FILES = ("sites.csv", "w1.csv", "w2.csv", "r.csv", "codes.qdc", "scoping/s1.csv", "cases/c1.csv")


def _study(tmp_path: Path, **overrides: object) -> Path:
    """A minimal study folder with every input present; `overrides` replace top-level keys."""
    folder = tmp_path / "study"
    for name in INPUT_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"{name}\n")
    data = {**MINIMAL, **overrides}
    (folder / "study.yaml").write_text(yaml.safe_dump(data))
    return folder / "study.yaml"


def _with_sites(tmp_path: Path, sites_path: str, **overrides: object) -> Path:
    sites = {**MINIMAL["sites"], "path": sites_path}
    return _study(tmp_path, sites=sites, **overrides)


def _refusal(config: Path) -> str:
    cfg = load_study_config(config)
    with pytest.raises(InputPathError) as info:
        config_inputs(cfg)
    return str(info.value)


def test_inputs_inside_the_study_are_read(tmp_path: Path) -> None:
    cfg = load_study_config(_study(tmp_path))
    names = dict(config_inputs(cfg))
    assert names["sites"] == (tmp_path / "study" / "sites.csv").resolve()
    assert names["qual.cases.000"].name == "c1.csv"


@pytest.mark.parametrize("path", ["/etc/passwd", "/proc/self/environ"])
def test_absolute_paths_outside_are_refused(tmp_path: Path, path: str) -> None:
    message = _refusal(_with_sites(tmp_path, path))
    assert message.startswith(f"study.yaml sites.path: {path!r}: absolute paths are not allowed")


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ"])
def test_a_symlink_leaving_the_study_is_refused_and_nothing_is_stored(tmp_path: Path, target: str) -> None:
    config = _with_sites(tmp_path, "sites_link.csv")
    (config.parent / "sites_link.csv").symlink_to(target)
    message = _refusal(config)
    assert message.startswith("study.yaml sites.path: 'sites_link.csv': ")
    assert "system file" in message or "leads outside the study folder through a symlink" in message
    store = open_store(str(tmp_path / "store"))
    with pytest.raises(InputPathError):
        ingest_inputs(store, load_study_config(config))
    assert store.list() == []  # nothing copied, quarantine included


def test_relative_escape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.csv").write_text("secret\n")
    message = _refusal(_with_sites(tmp_path, "../outside.csv"))
    assert message.startswith("study.yaml sites.path: '../outside.csv': leads outside the study folder (to ")


def test_a_symlinked_folder_leaving_the_study_is_refused(tmp_path: Path) -> None:
    config = _study(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "c9.csv").write_text("x\n")
    cases = config.parent / "cases"
    for f in cases.iterdir():
        f.unlink()
    cases.rmdir()
    cases.symlink_to(elsewhere, target_is_directory=True)
    message = _refusal(config)
    assert message.startswith("study.yaml qualitative.case_studies.projects[0]: 'cases/*.csv': leads outside")


def test_inputs_root_allows_data_elsewhere(tmp_path: Path) -> None:
    shared = tmp_path / "shared-data"
    shared.mkdir()
    (shared / "sites.csv").write_text("urn\n")
    config = _with_sites(tmp_path, str(shared / "sites.csv"), inputs_root=[str(shared)])
    assert dict(config_inputs(load_study_config(config)))["sites"] == (shared / "sites.csv").resolve()
    # A single folder may be given as a string; relative entries are relative to study.yaml.
    config = _with_sites(tmp_path, "../shared-data/sites.csv", inputs_root="../shared-data")
    assert dict(config_inputs(load_study_config(config)))["sites"] == (shared / "sites.csv").resolve()


def test_system_folders_stay_refused_even_when_allowed(tmp_path: Path) -> None:
    message = _refusal(_with_sites(tmp_path, "/proc/self/environ", inputs_root=["/"]))
    assert message == "study.yaml sites.path: '/proc/self/environ': resolves to " + str(
        Path("/proc/self/environ").resolve()
    ) + ", a system file; inputs must be data files"


def test_fifo_and_folder_are_refused(tmp_path: Path) -> None:
    config = _with_sites(tmp_path, "pipe.csv")
    os.mkfifo(config.parent / "pipe.csv")
    assert _refusal(config) == "study.yaml sites.path: 'pipe.csv': is a FIFO, not a regular file"
    config = _with_sites(tmp_path / "b", "scoping")
    assert _refusal(config) == "study.yaml sites.path: 'scoping': is a folder, not a regular file"


def test_a_dangling_symlink_is_named(tmp_path: Path) -> None:
    config = _with_sites(tmp_path, "gone.csv")
    (config.parent / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    assert _refusal(config).startswith("study.yaml sites.path: 'gone.csv': cannot be resolved (FileNotFoundError")


def test_a_missing_input_names_the_key(tmp_path: Path) -> None:
    cfg = load_study_config(_with_sites(tmp_path, "nope.csv"))
    with pytest.raises(ConfigError, match=r"^study.yaml sites.path: no input file matches 'nope.csv'"):
        config_inputs(cfg)


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("study:\n  id: a\n  title: t\n  id: b\n")
    with pytest.raises(ConfigError) as info:
        load_study_config(path)
    assert str(info.value).startswith(f"{path}: line 4, column 3: not valid YAML")
    assert "duplicate key 'id' (first given on line 2)" in str(info.value)


def test_duplicate_top_level_sections_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(MINIMAL) + "roles: {}\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'roles'"):
        load_study_config(path)
