"""optreg.data on the real Fashion-MNIST files and on damaged copies of them."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest

from optreg import data
from optreg.cli import main
from optreg.data import (
    FILES,
    DataNotFoundError,
    DataVerificationError,
    find_fashion_mnist,
    load_fashion_mnist,
    verify_fashion_mnist,
    verify_file,
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """A private verification cache and home, no network; tests reach the real data through
    the ``real_dir`` fixture (found before this fixture hides the usual places)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "_network_reachable", lambda *a, **k: False)


@pytest.fixture(scope="module")
def real_dir() -> Path:
    directory = find_fashion_mnist()
    assert directory is not None, "run `optreg data fetch` (make test does it in set-up)"
    return directory


def linked_copy(real_dir: Path, target: Path) -> Path:
    """A folder of symbolic links to the real files (cheap; replace one to damage it)."""
    target.mkdir()
    for spec in FILES.values():
        (target / spec.name).symlink_to(real_dir / spec.name)
    return target


def replace_file(directory: Path, key: str, content: bytes) -> Path:
    file = directory / FILES[key].name
    file.unlink()
    file.write_bytes(content)
    return file


def test_real_data_shapes_dtypes_and_class_balance(real_dir):
    d = load_fashion_mnist(real_dir)
    assert d.x_train.shape == (55000, 28, 28) and d.x_valid.shape == (5000, 28, 28)
    assert d.x_test.shape == (10000, 28, 28) and d.y_test.shape == (10000,)
    assert d.x_train.dtype == np.uint8 and d.x_train.max() == 255
    # published facts: 7000 images per class overall, 1000 per class in the test set
    assert np.bincount(d.y_test, minlength=10).tolist() == [1000] * 10
    all_train = np.concatenate([d.y_train, d.y_valid])
    assert np.bincount(all_train, minlength=10).tolist() == [6000] * 10
    assert d.class_names[0] == "T-shirt/top" and d.class_names[9] == "Ankle boot"
    assert len(d.class_names) == 10


def test_float32_is_uint8_over_255_and_split_is_seeded(real_dir):
    u = load_fashion_mnist(real_dir, seed=3, validation_size=1000)
    f = load_fashion_mnist(real_dir, seed=3, validation_size=1000, dtype="float32")
    assert f.x_train.dtype == np.float32 and 0.0 <= f.x_train.min() and f.x_train.max() == 1.0
    np.testing.assert_allclose(f.x_valid, u.x_valid / 255.0, rtol=1e-6)
    other = load_fashion_mnist(real_dir, seed=4, validation_size=1000)
    assert not np.array_equal(u.y_valid, other.y_valid)
    # train and validation partition the 60,000 images: the pixel sums add up
    unsplit = load_fashion_mnist(real_dir, seed=None, validation_size=0)
    total = int(unsplit.x_train.sum(dtype=np.int64))
    assert int(u.x_train.sum(dtype=np.int64)) + int(u.x_valid.sum(dtype=np.int64)) == total
    first = load_fashion_mnist(real_dir, seed=None, validation_size=1000)
    np.testing.assert_array_equal(first.x_valid, unsplit.x_train[:1000])


def test_search_order_path_then_env(real_dir, tmp_path, monkeypatch):
    env_copy = linked_copy(real_dir, tmp_path / "env")
    arg_copy = linked_copy(real_dir, tmp_path / "arg")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(env_copy))
    assert find_fashion_mnist() == env_copy
    assert find_fashion_mnist(arg_copy) == arg_copy
    keras_copy = tmp_path / "home" / ".keras" / "datasets"
    keras_copy.mkdir(parents=True)
    linked_copy(real_dir, keras_copy / "fashion-mnist")
    monkeypatch.delenv("FASHION_MNIST_DIR")
    assert find_fashion_mnist() == keras_copy / "fashion-mnist"


def test_decompressed_copy_is_accepted(real_dir, tmp_path):
    copy = linked_copy(real_dir, tmp_path / "plain")
    labels = copy / FILES["test_labels"].name
    raw = gzip.decompress(labels.read_bytes())
    labels.unlink()
    (copy / FILES["test_labels"].name.removesuffix(".gz")).write_bytes(raw)
    d = load_fashion_mnist(copy)
    assert np.bincount(d.y_test).tolist() == [1000] * 10


def test_regzipped_copy_with_other_header_is_accepted(real_dir, tmp_path):
    """Hashes are of decompressed bytes: a different gzip header/level must not matter."""
    copy = linked_copy(real_dir, tmp_path / "regz")
    raw = gzip.decompress((real_dir / FILES["train_labels"].name).read_bytes())
    replace_file(copy, "train_labels", gzip.compress(raw, compresslevel=1, mtime=12345))
    verify_fashion_mnist(copy)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncated", "truncated gzip"),
        ("corrupt", "corrupt gzip"),
        ("modified", "SHA-256"),
        ("wrong_magic", "not an IDX file"),
        ("wrong_shape", "IDX shape"),
        ("short_payload", "bytes after decompression"),
    ],
)
def test_damaged_file_is_refused_with_name_and_fix(real_dir, tmp_path, damage, message):
    copy = linked_copy(real_dir, tmp_path / damage)
    good = (real_dir / FILES["test_labels"].name).read_bytes()
    raw = bytearray(gzip.decompress(good))
    if damage == "truncated":
        content = good[: len(good) // 2]
    elif damage == "corrupt":
        content = bytearray(good)
        for i in range(100, 200):
            content[i] ^= 0xFF
        content = bytes(content)
    elif damage == "modified":  # a valid IDX file whose labels were tampered with
        raw[8] = (raw[8] + 1) % 10
        content = gzip.compress(bytes(raw))
    elif damage == "wrong_magic":  # e.g. an images file in place of labels
        content = gzip.compress(b"\x00\x00\x08\x03" + bytes(raw[4:]))
    elif damage == "wrong_shape":
        content = gzip.compress(bytes(raw[:4]) + (5000).to_bytes(4, "big") + bytes(raw[8:5008]))
    else:
        content = gzip.compress(bytes(raw[:-10]))
    bad = replace_file(copy, "test_labels", content)
    with pytest.raises(DataVerificationError, match=message) as info:
        load_fashion_mnist(copy)
    text = str(info.value)
    assert str(bad) in text and "optreg data fetch" in text
    # the same through the command line: exit status 1, other files reported ok
    assert main(["data", "check", "--path", str(copy)]) == 1


def test_env_copy_damaged_is_not_silently_skipped(real_dir, tmp_path, monkeypatch):
    copy = linked_copy(real_dir, tmp_path / "env")
    replace_file(copy, "train_labels", b"garbage")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(copy))
    with pytest.raises(DataVerificationError, match="train-labels"):
        load_fashion_mnist()


def test_missing_data_lists_places_searched_and_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    with pytest.raises(DataNotFoundError) as info:
        load_fashion_mnist()
    text = str(info.value)
    for place in (
        tmp_path / "nowhere",
        tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist",
        tmp_path / "no-debian",
    ):
        assert str(place) in text
    assert "optreg data fetch" in text and "apt-get install dataset-fashion-mnist" in text
    assert main(["data", "check"]) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        load_fashion_mnist(empty)


def test_verification_is_cached_by_size_and_mtime(real_dir, tmp_path, monkeypatch):
    copy = linked_copy(real_dir, tmp_path / "cached")
    labels = replace_file(
        copy, "train_labels", (real_dir / FILES["train_labels"].name).read_bytes()
    )
    verify_file(labels, "train_labels")
    # now the file is not read again ...
    monkeypatch.setattr(data, "_read_bytes", lambda f: pytest.fail(f"re-read {f}"))
    verify_file(labels, "train_labels")
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # ... until it changes: damage it (new mtime) and it is checked again and refused
    content = bytearray(labels.read_bytes())
    content[-20] ^= 0xFF
    labels.write_bytes(bytes(content))
    os.utime(labels, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(DataVerificationError):
        verify_file(labels, "train_labels")


def test_fetch_is_a_fast_no_op_when_data_is_there(real_dir, capsys, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(real_dir))
    assert main(["data", "fetch"]) == 0  # first call fills the cache
    start = time.perf_counter()
    assert main(["data", "fetch"]) == 0
    assert time.perf_counter() - start < 1.0
    assert "already present" in capsys.readouterr().out
    assert main(["data", "check"]) == 0


def test_fetch_installs_with_apt_when_data_is_missing(real_dir, tmp_path, monkeypatch):
    """No copy anywhere: fetch calls apt-get (here a stand-in that "installs" links to the
    real files into the Debian folder), then verifies what it got."""
    debian = tmp_path / "debian"
    fake_apt = tmp_path / "apt-get"
    fake_apt.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/apt.log\n'
        f"mkdir -p {debian}\n"
        + "".join(f"ln -sf {real_dir / s.name} {debian / s.name}\n" for s in FILES.values())
    )
    fake_apt.chmod(0o755)
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    monkeypatch.setattr(data, "_apt_command", lambda: [str(fake_apt)])
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    assert find_fashion_mnist() is None
    assert data.fetch_fashion_mnist(verbose=False) == debian
    assert "install" in (tmp_path / "apt.log").read_text()
    assert "dataset-fashion-mnist" in (tmp_path / "apt.log").read_text()
    assert find_fashion_mnist() == debian


def test_fetch_without_apt_or_network_explains(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(data, "_apt_command", lambda: None)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="network is not reachable"):
        data.fetch_fashion_mnist(verbose=False)
    assert main(["data", "fetch"]) == 1


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="validation_size"):
        load_fashion_mnist(validation_size=60000)
    with pytest.raises(ValueError, match="dtype"):
        load_fashion_mnist(dtype="float64")
    with pytest.raises(ValueError, match="key"):
        verify_file("x", "images")
