"""grader/data.py: locating, fetching (offline: file:// and a fake opener), verifying, IDX parsing,
and placing MNIST where torchvision finds it without network."""
from __future__ import annotations

import gzip
import io
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from grader import data

SHARED = data.find_shared_data()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/data not present")


def _idx_bytes(array: np.ndarray, code: int, be_dtype: str) -> bytes:
    head = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return head + array.astype(be_dtype).tobytes()


# ----------------------------------------------------------------------------- read_idx


def test_read_idx_raw_and_gz_uint8(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = tmp_path / "x-idx3-ubyte"
    raw.write_bytes(_idx_bytes(a, 0x08, "u1"))
    gz = tmp_path / "named-without-gz-suffix"  # detected by content, not by name
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    for p in (raw, gz):
        out = data.read_idx(p)
        assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, a)


def test_read_idx_big_endian_types(tmp_path):
    f = np.array([[1.5, -2.25], [3.0, 1e-3]], dtype=np.float32)
    p = tmp_path / "f.idx"
    p.write_bytes(_idx_bytes(f, 0x0D, ">f4"))
    out = data.read_idx(p)
    assert out.dtype == np.float32 and out.dtype.byteorder in "=|<"
    np.testing.assert_array_equal(out, f)
    i = np.array([1, -70000, 2**30], dtype=np.int32)
    p.write_bytes(_idx_bytes(i, 0x0C, ">i4"))
    np.testing.assert_array_equal(data.read_idx(p), i)


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(p)
    a = np.zeros((10, 28, 28), np.uint8)
    p.write_bytes(_idx_bytes(a, 0x08, "u1")[:-100])
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(p)
    p.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(ValueError, match="unknown IDX type code 0x42"):
        data.read_idx(p)


@needs_shared
def test_read_idx_real_mnist_test_set():
    images = data.read_idx(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = data.read_idx(SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ----------------------------------------------------------------------------- locating


def test_resolve_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "from-env"))
    assert data.resolve_data_dir(str(tmp_path / "cli")) == tmp_path / "cli"
    assert data.resolve_data_dir(None) == tmp_path / "from-env"
    monkeypatch.delenv(data.ENV_VAR)
    cache = tmp_path / "cache" / "rnngrade" / "data"
    # an empty/absent cache falls back to ../shared/data where present, else the cache path
    assert data.resolve_data_dir(None) == (SHARED or cache)
    (cache / "mnist").mkdir(parents=True)
    assert data.resolve_data_dir(None) == cache


# ----------------------------------------------------------------------------- verify / fetch


@needs_shared
def test_verify_reports_corruption_with_a_clear_line(tmp_path):
    shutil.copytree(SHARED / "gutenberg", tmp_path / "gutenberg")
    bad = tmp_path / "gutenberg" / "sonnets.txt"
    bad.write_bytes(bad.read_bytes()[:-1] + b"!")
    rows = {path: (ok, line) for path, ok, line in data.verify(tmp_path)}
    assert rows["gutenberg/austen.txt"] == (True, "ok (sha256 verified)")
    ok, line = rows["gutenberg/sonnets.txt"]
    assert not ok
    assert line.startswith("sha256 mismatch: expected e3580b25")
    assert "delete it and run `rnngrade data fetch`" in line
    ok, line = rows["btc/Binance_BTCUSDT_d.csv"]
    assert not ok and line.startswith("missing") and "TA provides" in line


@needs_shared
def test_verify_size_check_catches_truncated_mnist(tmp_path):
    (tmp_path / "mnist").mkdir()
    src = (SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(src[:1000])
    rows = {p: (ok, line) for p, ok, line in data.verify(tmp_path)}
    ok, line = rows["mnist/t10k-labels-idx1-ubyte.gz"]
    assert not ok and line.startswith("size 1,000 bytes, expected 4,542")


@needs_shared
def test_fetch_over_file_urls_tries_mirrors_and_verifies(tmp_path):
    good = (SHARED / "gutenberg" / "sonnets.txt").as_uri()
    corrupt = tmp_path / "corrupt.txt"
    corrupt.write_bytes(b"not the sonnets")
    spec = data.DataFile("gutenberg/sonnets.txt", "gutenberg",
                         ((tmp_path / "absent.txt").as_uri(), corrupt.as_uri(), good),
                         sha256=data.FILES[6].sha256)
    assert data.FILES[6].path == "gutenberg/sonnets.txt"
    out = tmp_path / "data"
    said: list[str] = []
    lines = data.fetch(out, specs=[spec], progress=said.append)
    assert lines == said and len(lines) == 1
    assert lines[0] == f"gutenberg/sonnets.txt: downloaded from {good}, ok (sha256 verified)"
    assert not list((out / "gutenberg").glob("*.part"))  # no leftovers of failed mirrors
    # a second fetch keeps the verified file
    assert data.fetch(out, specs=[spec], progress=lambda s: None) == [
        "gutenberg/sonnets.txt: already present, ok (sha256 verified)"]


@needs_shared
def test_fetch_reports_failure_when_every_mirror_is_corrupt(tmp_path):
    corrupt = tmp_path / "c.gz"
    corrupt.write_bytes(b"\x1f\x8b" + b"x" * 4540)
    spec = data.DataFile("mnist/t10k-labels-idx1-ubyte.gz", "mnist", (corrupt.as_uri(),),
                         sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                         size=4542)
    [line] = data.fetch(tmp_path / "d", specs=[spec], progress=lambda s: None)
    assert line.startswith("mnist/t10k-labels-idx1-ubyte.gz: FAILED (file://")
    assert "sha256 mismatch" in line
    assert not (tmp_path / "d" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


@needs_shared
def test_fetch_mnist_with_a_fake_opener_uses_the_real_mirror_list(tmp_path):
    asked: list[str] = []

    def opener(url: str):
        asked.append(url)
        if "ossci-datasets" in url:
            raise OSError("mirror down")
        name = url.rsplit("/", 1)[1]
        local = SHARED / "mnist" / name
        if not local.is_file():
            raise OSError("404")
        return io.BytesIO(local.read_bytes())

    lines = data.fetch(tmp_path, names=["mnist"], opener=opener, progress=lambda s: None)
    assert asked[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"
    assert asked[1] == "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"
    assert lines[0].startswith("mnist/train-images-idx3-ubyte.gz: FAILED (")
    assert lines[1:] == [
        f"mnist/{n}: downloaded from http://yann.lecun.com/exdb/mnist/{n}, ok (sha256 and md5 verified)"
        for n in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]


def test_fetch_btc_says_the_ta_provides_it(tmp_path):
    [line] = data.fetch(tmp_path, names=["btc"], progress=lambda s: None,
                        opener=lambda url: pytest.fail("nothing to download"))
    assert line.startswith("btc/Binance_BTCUSDT_d.csv: not downloadable: ")
    assert "the TA provides this file" in line
    with pytest.raises(ValueError, match="unknown data name"):
        data.fetch(tmp_path, names=["imagenet"], progress=lambda s: None)


@needs_shared
def test_build_mnist_5k_is_byte_identical_to_the_shared_copy(tmp_path):
    data.build_mnist_5k(SHARED / "mnist_5k.csv.gz", tmp_path)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert (tmp_path / name).read_bytes() == (SHARED / "mnist-5k-train" / name).read_bytes()


# ----------------------------------------------------------------------------- MNIST for runs


def _copy_mnist(dst: Path, *, full: bool) -> None:
    shutil.copytree(SHARED / "mnist", dst / "mnist")
    shutil.copytree(SHARED / "mnist-5k-train", dst / "mnist-5k-train")
    if full:  # stands in for the 60k file: only its presence decides which set is used
        shutil.copy(SHARED / "mnist-5k-train" / "train-images-idx3-ubyte.gz",
                    dst / "mnist" / "train-images-idx3-ubyte.gz")


@needs_shared
def test_mnist_run_files_prefers_full_training_set(tmp_path):
    _copy_mnist(tmp_path, full=False)
    files, desc = data.mnist_run_files(tmp_path)
    assert sorted(files) == sorted(f"data/MNIST/raw/{s}-{k}-ubyte" for s in ("train", "t10k")
                                   for k in ("images-idx3", "labels-idx1"))
    assert desc.startswith("MNIST: 5,000-image training subset")
    assert all(p.is_relative_to(tmp_path / ".unpacked") for p in files.values())
    assert data.read_idx(files["data/MNIST/raw/train-labels-idx1-ubyte"]).shape == (5000,)
    assert data.read_idx(files["data/MNIST/raw/t10k-images-idx3-ubyte"]).shape == (10000, 28, 28)
    # decompressed once: a second call returns the same files without rewriting them
    stamp = files["data/MNIST/raw/t10k-images-idx3-ubyte"].stat().st_mtime_ns
    again, _ = data.mnist_run_files(tmp_path)
    assert again == files and again["data/MNIST/raw/t10k-images-idx3-ubyte"].stat().st_mtime_ns == stamp

    full_dir = tmp_path / "full"
    _copy_mnist(full_dir, full=True)
    _, desc = data.mnist_run_files(full_dir)
    assert desc.startswith("MNIST: full 60,000-image training set")


def test_mnist_run_files_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST test set not found.*rnngrade data fetch"):
        data.mnist_run_files(tmp_path)


@needs_shared
def test_torchvision_loads_the_placed_files_without_network(tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    files, _ = data.mnist_run_files(SHARED)  # read-only dir: unpacks into the user cache
    for rel, src in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / rel)

    def no_network(*args, **kwargs):
        raise AssertionError("torchvision tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.chdir(tmp_path)
    train = torchvision.datasets.MNIST(root="./data", train=True, download=True)
    test = torchvision.datasets.MNIST(root="./data", train=False, download=True)
    assert len(train) == 5000 and len(test) == 10000
    assert int(test.targets[0]) == 7 and tuple(test.data.shape) == (10000, 28, 28)


@needs_shared
def test_a_split_run_gets_half_the_test_set_and_never_the_other_half(tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    _copy_mnist(tmp_path, full=False)
    images, labels = data.mnist_test_set(tmp_path)
    seen, hidden = data.mnist_test_split(1234)
    assert len(seen) == len(hidden) == 5000 and not set(seen) & set(hidden)
    assert set(seen) | set(hidden) == set(range(10000)) and list(seen) == sorted(seen)
    assert np.array_equal(data.mnist_test_split(1234)[0], seen)  # the batch seed decides
    assert not np.array_equal(data.mnist_test_split(1235)[0], seen)

    files, desc = data.mnist_run_files(tmp_path, test_split_seed=1234)
    assert "5,000 of the 10,000 test images" in desc
    run_images = data.read_idx(files["data/MNIST/raw/t10k-images-idx3-ubyte"])
    run_labels = data.read_idx(files["data/MNIST/raw/t10k-labels-idx1-ubyte"])
    assert np.array_equal(run_images, images[seen]) and np.array_equal(run_labels, labels[seen])
    held = {img.tobytes() for img in run_images}
    assert sum(images[k].tobytes() in held for k in hidden) < 10  # only MNIST's own duplicates
    # the training files are the unsplit ones; a second call reuses the split files
    assert files["data/MNIST/raw/train-images-idx3-ubyte"] == data.mnist_run_files(tmp_path)[0][
        "data/MNIST/raw/train-images-idx3-ubyte"]
    assert data.mnist_run_files(tmp_path, test_split_seed=1234)[0] == files

    for rel, src in files.items():  # torchvision reads the split files as the real ones
        (tmp_path / "run" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / "run" / rel)
    monkeypatch.chdir(tmp_path / "run")
    test = torchvision.datasets.MNIST(root="./data", train=False, download=True)
    assert len(test) == 5000 and np.array_equal(test.targets.numpy(), labels[seen])


# ----------------------------------------------------------------------------- what a pack needs


def _files(tmp_path: Path) -> list:
    """Three small files of two groups, with their real checksums, and where they go."""
    import hashlib

    contents = {"set/a.txt": b"alpha\n", "set/b.txt": b"beta\n", "small/a.txt": b"tiny\n"}
    specs = [data.DataFile(path, path.split("/")[0], sha256=hashlib.sha256(body).hexdigest())
             for path, body in contents.items()]
    return specs, contents


def _place(directory: Path, contents: dict, *paths: str) -> None:
    for path in paths:
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(contents[path])


def test_a_requirement_names_a_group_a_path_or_a_pattern(tmp_path):
    specs, contents = _files(tmp_path)
    _place(tmp_path, contents, "set/a.txt")
    assert data.requirement_problem(tmp_path, "set/a.txt", specs) is None
    assert data.requirement_problem(tmp_path, "set/a*", specs) is None
    assert data.requirement_problem(tmp_path, "set", specs) == f"set: {tmp_path / 'set/b.txt'}: missing"
    assert data.requirement_problem(tmp_path, "set/*", specs) == f"set: {tmp_path / 'set/b.txt'}: missing"
    assert data.requirement_problem(tmp_path, "imagenet", specs) == (
        "the pack asks for data set 'imagenet', which rnngrade does not know")


def test_alternatives_the_first_present_one_is_verified(tmp_path):
    specs, contents = _files(tmp_path)
    either = [["set/a.txt", "set/b.txt"], "small"]
    assert data.requirement_problem(tmp_path, either, specs) == (
        f"set: {tmp_path / 'set/a.txt'}: missing (nor is the alternative complete: small)")
    _place(tmp_path, contents, "small/a.txt")
    assert data.requirement_problem(tmp_path, either, specs) is None  # the fallback is there
    _place(tmp_path, contents, "set/a.txt", "set/b.txt")
    (tmp_path / "set/b.txt").write_bytes(b"BETA\n")  # the preferred one is present: it is the one checked
    problem = data.requirement_problem(tmp_path, either, specs)
    assert problem.startswith(f"set: {tmp_path / 'set/b.txt'}: sha256 mismatch") and "nor is" not in problem
    assert data.requirement_names(either) == ["set/a.txt", "set/b.txt"]  # what provisioning fetches
    assert data.requirement_names("small") == ["small"]


def test_fetch_selects_by_pattern_too(tmp_path):
    lines = data.fetch(tmp_path, names=["btc/*"], progress=lambda s: None,
                       opener=lambda url: pytest.fail("nothing to download"))
    assert [line.split(":")[0] for line in lines] == ["btc/Binance_BTCUSDT_d.csv"]


def test_lab7_homework_declares_the_mnist_it_needs(tmp_path):
    """The engine knows no MNIST rule: the pack names the test set and either training set."""
    from grader.packs import DATA_MISSING, load_pack, requirement_problems

    spec = load_pack("lab7-homework").spec
    problems = requirement_problems(spec, tmp_path)
    assert problems == [f"{DATA_MISSING}: MNIST: {tmp_path / 'mnist/t10k-images-idx3-ubyte.gz'}: missing",
                        f"{DATA_MISSING}: MNIST: {tmp_path / 'mnist/train-images-idx3-ubyte.gz'}: missing "
                        "(nor is the alternative complete: mnist-5k)"]
    if SHARED is None or not (SHARED / "mnist-5k-train").is_dir():
        return
    shutil.copytree(SHARED / "mnist-5k-train", tmp_path / "mnist-5k-train")
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(SHARED / "mnist" / name, tmp_path / "mnist" / name)
    assert requirement_problems(spec, tmp_path) == []  # the 5k subset stands in for the full set
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"x")
    (problem,) = requirement_problems(spec, tmp_path)
    assert "t10k-labels-idx1-ubyte.gz: size 1 bytes" in problem
