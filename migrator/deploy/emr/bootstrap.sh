#!/usr/bin/env bash
# EMR bootstrap action for the migrator: Python 3.11 and the migrator's dependencies on a node.
#
# EMR runs it on every node, as the hadoop user, before it installs Spark. Arguments:
#   $1  S3 URI of the requirements.txt uploaded by `migrator emr bootstrap`
#   $2  the interpreter to prepare (default /usr/bin/python3.11); its file name is also the name
#       of the Amazon Linux 2023 package that provides it (python3.11, plus python3.11-pip)
# Running it again changes nothing: an installed interpreter is kept, pip skips what is there.
# Shipped in the migrator package as deploy/emr/bootstrap.sh; `migrator emr bootstrap` uploads it as
# <prefix>/bootstrap/emr_bootstrap.sh, the name EMR runs it under and `migrator emr submit` looks for.
set -euo pipefail

usage="usage: emr_bootstrap.sh S3_URI_OF_REQUIREMENTS [/usr/bin/python3.11]"
requirements_uri="${1:?$usage}"
python="${2:-/usr/bin/python3.11}"
package="$(basename "$python")"

say() { echo "migrator bootstrap: $*" >&2; }

case "$requirements_uri" in
  s3://*) ;;
  *) say "the first argument must be an s3:// URI, got '$requirements_uri'"; exit 2 ;;
esac
case "$package" in
  python3.[0-9]*) ;;
  *) say "the interpreter must be a pythonX.Y path such as /usr/bin/python3.11, got '$python'"; exit 2 ;;
esac

if "$python" -m pip --version >/dev/null 2>&1; then
  say "$python with pip is already installed"
else
  if ! command -v dnf >/dev/null 2>&1; then
    say "dnf not found: this script needs Amazon Linux 2023 nodes (EMR 7.0 or later)"
    exit 2
  fi
  say "installing $package and $package-pip"
  sudo dnf install -y -q "$package" "$package-pip"
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
aws s3 cp --only-show-errors "$requirements_uri" "$workdir/requirements.txt"

# Installed for root into the interpreter's own site-packages, so every user (hadoop, yarn) sees it.
# PIP_BREAK_SYSTEM_PACKAGES: allowed even if the distribution marks its Python as externally
# managed (older pips ignore the variable).
say "installing the requirements with $python -m pip"
sudo env PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
  "$python" -m pip install --quiet --disable-pip-version-check --no-input -r "$workdir/requirements.txt"

say "ready: $("$python" --version 2>&1) at $python"
