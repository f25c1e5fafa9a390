#!/usr/bin/env bash
# Installs Debian's C and Rust toolchains for WASI (clang, lld, wasi-libc
# and the wasm32 builtins; rustc and its wasm32-wasi standard library), for
# the tests that build the C and Rust projects pave new writes, when they
# are missing and the machine allows it: as root, or through sudo without a
# password, with apt-get. Quiet when there is nothing to do; never fails:
# where it cannot install, it says why, and those tests skip naming what is
# missing.
set -u
need=()
if ! { command -v clang >/dev/null 2>&1 && [ -e /usr/lib/wasm32-wasi/libc.a ] && ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; }; then
	need+=(clang lld wasi-libc libclang-rt-dev-wasm32)
fi
if [ ! -d /usr/lib/rustlib/wasm32-wasi ] || [ ! -x /usr/bin/rustc ]; then
	need+=(rustc libstd-rust-dev-wasm32)
fi
[ ${#need[@]} -eq 0 ] && exit 0
say() { echo "wasm-toolchains: $*; the C and Rust tests of pave new will skip" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then
	say "${need[*]} are missing and there is no apt-get to install them"
	exit 0
fi
if [ "$(id -u)" = 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	say "${need[*]} are missing, and installing them needs root or sudo without a password"
	exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >>"$log" 2>&1
}
echo "wasm-toolchains: installing ${need[*]} (once)" >&2
if ! install && ! { "${as_root[@]}" apt-get update -q >>"$log" 2>&1 && install; }; then
	say "apt-get could not install them (last lines of its output follow)"
	tail -n 5 "$log" >&2
fi
exit 0
