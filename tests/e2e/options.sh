#!/usr/bin/env bash
# What is written by hand about the options agrees with the option table
# (src/front/options.c): the bash completion offers every -o option and flag
# the mount takes and nothing else, and the man pages document every
# option of their front end.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${OPTIONLIST:-}" ] || fail "OPTIONLIST is not set"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
	bash -c '
		_init_completion() {
			words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
			cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
		}
		_filedir() { :; }
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_xvafs 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"' complete "$top/contrib/bash-completion/xvafs" "$@" |
		sort -u
}

"$OPTIONLIST" mount | sort -u >"$WORK/table.mount"
complete_words xvafs -o "" >"$WORK/completion.mount"
diff "$WORK/table.mount" "$WORK/completion.mount" ||
	fail "the completion's -o options (>) are not the table's (<)"
complete_words xvafs - >"$WORK/completion.flags"
for flag in $("$OPTIONLIST" flags); do
	grep -qx -- "$flag" "$WORK/completion.flags" || fail "the completion does not offer $flag"
done
echo "PASS: the bash completion offers the table's options"

# Each option in bold where the page documents it: ".B NAME", ".BI NAME=",
# "\fBNAME", ".BR uid= ... gid=", "\-o NAME".
documented() { # documented PAGE SPELLING
	grep -qE "(^\.B[IR]? |\\\\fB|\\\\-o |\" )$(sed 's/[.[]/\\&/g' <<<"$2")" "$1"
}
for opt in $("$OPTIONLIST" mount); do
	documented "$top/doc/xvafs.1" "$opt" || fail "doc/xvafs.1 does not document -o $opt"
done
for flag in $("$OPTIONLIST" flags); do
	documented "$top/doc/xvafs.1" "$(sed 's/-/\\\\-/g' <<<"$flag")" ||
		fail "doc/xvafs.1 does not document $flag"
done
for opt in $("$OPTIONLIST" plugin); do
	documented "$top/doc/nbdkit-xva-plugin.1" "$opt" ||
		fail "doc/nbdkit-xva-plugin.1 does not document $opt"
done
echo "PASS: the man pages document the table's options"
