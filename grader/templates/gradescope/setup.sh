#!/usr/bin/env bash
# rnngrade autograder, build step. Gradescope unpacks the autograder zip into
# /autograder/source and runs this script there once, as root, when it builds the image
# (network available). Everything grading needs is installed and checked HERE: nothing is
# downloaded while a submission is graded. Any failure stops the build with a message.
#
# Settings (environment variables; the defaults are what Gradescope needs):
#   RNNGRADE_TORCH_INDEX  pip index for torch/torchvision (default: PyTorch's CPU-only wheels,
#                         much smaller than PyPI's CUDA build; set to "" for plain PyPI)
#   AUTOGRADER_ROOT       the autograder folder (default /autograder; tests use a temp folder)
#   RNNGRADE_VENV         the virtual environment (default $AUTOGRADER_ROOT/rnngrade-venv)
#   RNNGRADE_PYTHON       the Python that makes it (default python3)
#   RNNGRADE_VENV_ARGS    extra `python -m venv` arguments (tests: --system-site-packages)
#   RNNGRADE_NO_APT=1     never call apt-get (images without it, or tests)
set -euo pipefail

PACK="@PACK@"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
VENV="${RNNGRADE_VENV:-$ROOT/rnngrade-venv}"
PY="${RNNGRADE_PYTHON:-python3}"
TORCH_INDEX="${RNNGRADE_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
DATA="$SRC/data"

say() { printf '[rnngrade setup] %s\n' "$*"; }
die() { printf '[rnngrade setup] ERROR: %s\n' "$*" >&2; exit 1; }

have_apt() { [ -z "${RNNGRADE_NO_APT:-}" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; }
apt_install() {
  have_apt || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

started=$(date +%s)
cd "$SRC"

# 1. a Python >= 3.10 with venv (Debian/Ubuntu split venv and ensurepip into python3-venv)
if ! command -v "$PY" >/dev/null 2>&1; then
  say "no $PY: installing python3"
  apt_install python3 python3-venv || die "no $PY and apt-get could not install it"
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || die "$PY is $("$PY" -V 2>&1); rnngrade needs Python 3.10 or newer"
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    say "installing python3-venv (python$ver-venv)"
    apt_install python3-venv "python$ver-venv" || apt_install python3-venv \
      || die "$PY has no venv/ensurepip module and apt-get could not install python3-venv"
  fi
  say "creating the virtual environment $VENV"
  # shellcheck disable=SC2086
  "$PY" -m venv ${RNNGRADE_VENV_ARGS:-} "$VENV" || die "python -m venv failed"
fi
VPY="$VENV/bin/python"
# Inside our own venv PEP 668 ("externally managed") does not apply.
pip() { "$VPY" -m pip --disable-pip-version-check --no-input -q "$@"; }

# 2. the engine and its pinned dependencies (torch and torchvision as a matching pair)
index_args=()
if [ -n "$TORCH_INDEX" ]; then
  index_args=(--extra-index-url "$TORCH_INDEX")
fi
say "installing the pinned dependencies (requirements.txt${TORCH_INDEX:+, torch from $TORCH_INDEX})"
pip install "${index_args[@]}" -r requirements.txt || die "pip could not install requirements.txt"
pip install "setuptools>=64" || die "pip could not install setuptools"
if ! "$VPY" -c 'import tomllib' 2>/dev/null; then pip install tomli || die "pip could not install tomli"; fi
pip install --no-deps --no-build-isolation -e . || die "pip could not install the rnngrade engine"

# 2b. libseccomp: the fallback sandbox's syscall filter (pyseccomp loads libseccomp.so.2)
if ! "$VPY" -c 'import pyseccomp' >/dev/null 2>&1; then
  apt_install libseccomp2 || die "libseccomp2 is missing and apt-get could not install it (the sandbox needs it)"
  "$VPY" -c 'import pyseccomp' || die "pyseccomp cannot load libseccomp.so.2 (the sandbox needs it)"
fi

# 3. bubblewrap: the strongest sandbox where the container allows namespaces. Optional:
#    without it the grader confines each run with an unprivileged user and rlimits.
if ! command -v bwrap >/dev/null 2>&1; then
  if apt_install bubblewrap; then say "installed bubblewrap"; else say "bubblewrap not installed (optional)"; fi
fi

# 4. the pack's data, fetched now and verified by checksum (fails the build loudly)
say "provisioning the data of $PACK into $DATA"
"$VPY" -m grader.gradescope provision "$PACK" --data-dir "$DATA" \
  || die "the data of $PACK could not be provisioned (see above); the autograder would not work"

# 5. an import check of everything grading touches, then read access for the sandbox's
#    unprivileged user (uid nobody runs student code where bubblewrap cannot)
chmod -R a+rX "$SRC" "$VENV" 2>/dev/null || true
# ...but never the reference or the checks: where the kernel has no Landlock to hide them,
# these modes are what keeps a run's uid out (the grader refuses to run otherwise)
chmod -R o-rwx "$SRC/reference" "$SRC/assignments" 2>/dev/null || true
"$VPY" -m grader.gradescope check "$PACK" --data-dir "$DATA" || die "the installed grader does not work"
say "done in $(( $(date +%s) - started )) s"
