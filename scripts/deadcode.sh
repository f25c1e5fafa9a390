#!/usr/bin/env bash
# Fails if a function in internal/ cannot be reached from cmd/pave, unless
# scripts/deadcode.allow names it with the reason it stays. A rule kept in
# a second copy that nothing calls shows up here.
#
# Only internal/ is checked: abi, sdk and client are public API, used by
# guest functions and by Go programs outside this module, not by cmd/pave.
# Tests are not roots: a function that only its own tests call is dead
# code with a test, and must be listed to stay.
set -euo pipefail
cd "$(dirname "$0")/.."
DEADCODE=${DEADCODE:-deadcode}
allow=scripts/deadcode.allow
found=$("$DEADCODE" -filter '^github.com/pave-dev/pave/internal/' \
	-f '{{range .Funcs}}{{$.Path}} {{.Name}}{{"\n"}}{{end}}' ./cmd/pave |
	sed 's|^github.com/pave-dev/pave/||' | sed '/^$/d' | sort)
allowed=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$allow" | awk '{print $1, $2}' | sort)
new=$(comm -23 <(echo "$found") <(echo "$allowed") | sed '/^$/d')
stale=$(comm -13 <(echo "$found") <(echo "$allowed") | sed '/^$/d')
if [ -n "$stale" ]; then
	echo "deadcode: reachable now, can leave $allow:"
	echo "$stale" | sed 's/^/	/'
fi
if [ -n "$new" ]; then
	echo "deadcode: unreachable from cmd/pave (delete, or list in $allow with the reason):"
	echo "$new" | sed 's/^/	/'
	exit 1
fi
