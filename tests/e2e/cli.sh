#!/usr/bin/env bash
# The command line: help, version, usage errors and unknown options.
. "$(dirname "$0")/lib.sh"

out=$("$XVAFS" --help) || fail "--help exited non-zero"
grep -q "^usage: xvafs \[options\] EXPORT MOUNTPOINT" <<<"$out" || fail "--help lacks the usage line"
for opt in -f -d -s allow_other fsname= subtype= "exit status"; do
	grep -q -- "$opt" <<<"$out" || fail "--help does not mention $opt"
done
[ "$("$XVAFS" -h)" = "$out" ] || fail "-h differs from --help"
"$XVAFS" --version | grep -Eq '^xvafs [0-9]+\.[0-9]+\.[0-9]+ ' || fail "--version"
"$XVAFS" -V | grep -q '^xvafs ' || fail "-V"

rc=0; "$XVAFS" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no export given" "$WORK/err" || fail "no arguments: rc $rc"
rc=0; "$XVAFS" some.xva 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no mount point given" "$WORK/err" || fail "no mount point: rc $rc"

# The test generator's own --help: its usage on stdout, status 0.
"$MKXVA" --help >"$WORK/out" 2>"$WORK/err" || fail "mkxva --help: exit status $?"
grep -q "^usage: mkxva" "$WORK/out" && [ ! -s "$WORK/err" ] || { cat "$WORK/err"; fail "mkxva --help: no usage on stdout"; }

truncate -s 1M "$WORK/d.img"
"$MKXVA" "$WORK/ok.xva" "$WORK/d.img"
mkdir -p "$WORK/mnt"
rc=0; "$XVAFS" -o no_such_option "$WORK/ok.xva" "$WORK/mnt" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no_such_option" "$WORK/err" || { cat "$WORK/err"; fail "unknown -o option: rc $rc"; }
! is_mounted "$WORK/mnt" || fail "mounted despite a bad option"

# A cache folder that cannot be made is an error before anything else,
# not a mount that keeps no cache without a word.
: >"$WORK/a-file"
rc=0; "$XVAFS" --list -o cache_dir="$WORK/a-file/cache" "$WORK/ok.xva" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^xvafs: -o cache_dir: cannot create the cache folder $WORK/a-file/cache: Not a directory" "$WORK/err" ||
	{ cat "$WORK/err"; fail "-o cache_dir under a file: rc $rc"; }
rc=0; "$XVAFS" --list -o cache_dir="$WORK/a-file" "$WORK/ok.xva" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "cannot create the cache folder $WORK/a-file: Not a directory" "$WORK/err" ||
	{ cat "$WORK/err"; fail "-o cache_dir naming a file: rc $rc"; }
rc=0; "$XVAFS" --list -o cache_dir= "$WORK/ok.xva" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^xvafs: -o cache_dir= needs a folder" "$WORK/err" ||
	{ cat "$WORK/err"; fail "-o cache_dir= (empty): rc $rc"; }
"$XVAFS" --list -o cache_dir="$WORK/new/cache" "$WORK/ok.xva" >/dev/null || fail "-o cache_dir of a new folder"
[ -d "$WORK/new/cache" ] || fail "-o cache_dir: the folder was not made"

# Scripts get JSON even when the export cannot be read.
rc=0; "$XVAFS" --list --json "$WORK/no-such.xva" >"$WORK/json" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] || fail "--list --json of a missing file: exit status $rc"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "No such file" in d["error"], d' "$WORK/json" ||
	{ cat "$WORK/json"; fail "--list --json of a missing file: no JSON error object"; }
grep -q "^xvafs: $WORK/no-such.xva: cannot open: No such file" "$WORK/err" || fail "--list --json: no error line"
# Sizes in binary units by default, bytes on request.
"$XVAFS" --list "$WORK/ok.xva" | grep -q "1.0 MiB" || fail "--list without units"
"$XVAFS" --list --bytes "$WORK/ok.xva" | grep -q " 1048576 " || fail "--list --bytes"
# Output that cannot be written is a failure, not a success.
for cmd in "--list $WORK/ok.xva" "--list --json $WORK/ok.xva" "--help" "--version"; do
	rc=0; "$XVAFS" $cmd >/dev/full 2>"$WORK/err" || rc=$?
	[ "$rc" = 6 ] && grep -q "cannot write to standard output" "$WORK/err" ||
		{ cat "$WORK/err"; fail "xvafs $cmd >/dev/full: exit status $rc"; }
done
echo "PASS: command line"

# The man page documents every option --help lists.
man_page=$(dirname "$0")/../../doc/xvafs.1
# Option lines start with the option, then a comma or two spaces.
for opt in $(grep -oE '^ {4,}(-[a-zA-Z-]+|[a-z_]+(=[A-Z]+)?)(,| {2,}| OPT)' <<<"$out" |
	     sed -E 's/^ +//; s/(,| +| OPT)$//; s/=[A-Z]+$/=/' | sort -u); do
	# Roff escapes '-' as '\-'.
	grep -q -- "$(sed 's/-/\\\\-/g' <<<"$opt")" "$man_page" || fail "the man page does not document $opt"
done
grep -q "xvafs $("$XVAFS" --version | cut -d' ' -f2)" "$man_page" || fail "the man page's version is not the program's"
echo "PASS: the man page matches --help"
