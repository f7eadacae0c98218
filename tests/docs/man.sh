#!/bin/bash
# The man pages render without warnings, and every action of `ctys -h` has a page entry.
set -u
src=${1:?source dir} ctys=${2:?ctys binary} rc=0 n=0
for page in "$src"/man/*.[1-9]; do
	warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	if [ -n "$warn" ]; then echo "FAIL: $page: $warn"; rc=1; else n=$((n + 1)); fi
done
for action in $("$ctys" -h | awk '/^actions:/ {a = 1; next} a && NF == 0 {exit} a {print $1}'); do
	if ! grep -q "$action" "$src/man/ctys-QEMU.1"; then
		echo "FAIL: action $action is not in ctys-QEMU(1)"; rc=1
	else n=$((n + 1)); fi
done
echo "$n passed, $rc failed"
exit $rc
