#!/bin/sh
# install-config.sh EXAMPLE TARGET - meson install step: install EXAMPLE as
# TARGET (under $DESTDIR) unless a TARGET is there already, so that
# "meson install" over a running system never replaces an admin's file.
set -eu
src=$1
dst=${DESTDIR:-}$2
if [ -e "$dst" ]; then
	echo "install-config.sh: keeping the existing $dst"
	exit 0
fi
install -d -m 0755 "$(dirname "$dst")"
install -m 0644 "$src" "$dst"
echo "install-config.sh: installed $dst from the example"
