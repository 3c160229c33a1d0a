#!/usr/bin/env bash
# test.sh - the whole test suite, twice: a normal gcc build with -Werror,
# then a clang build with ASan + UBSan and libFuzzer targets.  Prints
# "N passed, N failed" as its last line and exits non-zero if
# anything failed.
set -uo pipefail
cd "$(dirname "$0")"

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

failed_setup=0
run_build() {	# run_build DIR [meson setup args...]
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; failed_setup=$((failed_setup + 1)); return; }
	fi
	ninja -C "$dir" || { failed_setup=$((failed_setup + 1)); return; }
	meson test -C "$dir" --print-errorlogs --num-processes 2 || true
}

echo "== normal build (gcc, -Werror) =="
run_build build-test -Dwerror=true

echo "== sanitizer build (clang, ASan + UBSan, libFuzzer) =="
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
CC=clang run_build build-asan -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dfuzzing=true

python3 - build-test build-asan "$failed_setup" <<'PY'
import json, os, sys
passed = failed = skipped = 0
for d in sys.argv[1:3]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        failed += 1
        continue
    for line in open(log):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
failed += int(sys.argv[3])
# CI reads the last line, exactly "N passed, N failed"; skips come before.
print(f"{skipped} skipped")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
