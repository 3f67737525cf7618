"""Safe reading of published weight files (sklearn_ecg.pretrained._files)."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest
import torch

from sklearn_ecg.pretrained._files import load_torch_file


def test_tensors_containers_namespaces_and_numpy_scalars_are_read(tmp_path):
    checkpoint = {"model": {"w": torch.ones(2)}, "args": argparse.Namespace(lr=0.1, layers=[1, 2]),
                  "extra_state": {"best": np.float64(0.5), "steps": np.int64(7), "flag": np.bool_(True)},
                  "history": [(1, "a"), {"b": None}]}
    torch.save(checkpoint, tmp_path / "ok.pt")
    loaded = load_torch_file(tmp_path / "ok.pt", "a checkpoint")
    assert loaded["args"].lr == 0.1 and loaded["extra_state"]["best"] == 0.5
    assert torch.equal(loaded["model"]["w"], torch.ones(2))


def test_a_file_that_needs_other_types_is_refused_naming_them(tmp_path):
    torch.save({"model": {"w": torch.ones(2)}, "hook": os.system}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil\.pt needs posix\.system to be unpickled.*refused"):
        load_torch_file(tmp_path / "evil.pt", "a checkpoint")
    torch.save({"array": np.zeros(3)}, tmp_path / "array.pt")  # arrays are not on the list
    with pytest.raises(ValueError, match=r"array\.pt needs .*multiarray\._reconstruct"):
        load_torch_file(tmp_path / "array.pt", "a checkpoint")


def test_safetensors_and_wrong_files(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.arange(3.0)}, str(tmp_path / "w.safetensors"))
    assert torch.equal(load_torch_file(tmp_path / "w.safetensors", "weights")["w"], torch.arange(3.0))
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes\.txt is not a state dict readable by torch\.load"):
        load_torch_file(tmp_path / "notes.txt", "a state dict")
    (tmp_path / "lfs.pt").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n")
    with pytest.raises(ValueError, match="git-LFS pointer"):
        load_torch_file(tmp_path / "lfs.pt", "a state dict")
