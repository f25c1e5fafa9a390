#!/usr/bin/env bash
# Installs Debian's chromium, for the web console's browser test
# (TestConsoleInBrowser), when it is missing and the machine allows it:
# as root, or through sudo without a password, with apt-get. Quiet when
# there is nothing to do; never fails: where it cannot install, it says
# why, and the test skips naming what is missing. PAVE_CHROMIUM names a
# browser of one's own instead.
set -u
for b in ${PAVE_CHROMIUM:-} chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		exit 0
	fi
done
say() { echo "browser: $*; TestConsoleInBrowser will skip" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then
	say "chromium is missing and there is no apt-get to install it"
	exit 0
fi
if [ "$(id -u)" = 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	say "chromium is missing, and installing it needs root or sudo without a password"
	exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$log" 2>&1
}
echo "browser: installing Debian's chromium (once)" >&2
# The package lists may be missing or stale on a new machine: update them
# only when the first try fails.
if ! install && ! { "${as_root[@]}" apt-get update -q >>"$log" 2>&1 && install; }; then
	say "apt-get could not install chromium (last lines of its output follow)"
	tail -n 5 "$log" >&2
fi
exit 0
