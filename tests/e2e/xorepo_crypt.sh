#!/bin/bash
# Encrypted Xen Orchestra repositories, written by Xen Orchestra's own
# remote handler (tests/servers/mkxorepo.mjs: @xen-orchestra/fs 4.9.3,
# ChaCha20-Poly1305, and 3.3.0, AES-256-GCM): the crypt source reads every
# byte, random ranges from threads, and a gzip-compressed backup under
# its decoder, identical to the export before encryption, from a local
# folder and from S3 (s3rver); a wrong key is one line; a tampered byte
# fails the tag; an encrypted backup given without a key is named as one.
source "$(dirname "$0")/remote_lib.sh"

: "${MKXVA:?path to the mkxva generator}"
command -v node >/dev/null || skip "needs node (Debian nodejs)"
[ -d "$E2E_DIR/../servers/node_modules/@xen-orchestra/fs" ] &&
	[ -d "$E2E_DIR/../servers/node_modules/xo-fs-legacy" ] ||
	skip "needs @xen-orchestra/fs (npm ci in tests/servers)"
MKXOREPO=$E2E_DIR/../servers/mkxorepo.mjs
VM=0c9e2d7a-5b1f-4e0a-9a51-7f3e2b8c4d11

export_xva=$WORK/web01.xva
make_export "$export_xva"
gzip -c "$export_xva" >"$WORK/web01.xva.gz"
printf 'Xo-test-key/0123456789abcdefghij\n' >"$WORK/key"
printf 'Xo-test-key/0123456789abcdefghiX\n' >"$WORK/wrong"

# backup_path REPO STAMP: the .xva Xen Orchestra wrote for that backup.
backup_path() {
	echo "$1/xo-vm-backups/$VM/$2.xva"
}

for flavour in chacha20-poly1305 aes-256-gcm; do
	repo=$WORK/repo-$flavour
	legacy=()
	[ "$flavour" = aes-256-gcm ] && legacy=(--legacy)
	note "$flavour: a repository written by Xen Orchestra's handler"
	node "$MKXOREPO" --dir "$repo" --key-file "$WORK/key" "${legacy[@]}" \
		--vm "$VM:web01" --backup "2026-01-31T02:00:00Z:$export_xva" \
		--backup "2026-02-01T02:00:00Z:$WORK/web01.xva.gz" || fail "mkxorepo $flavour"
	grep -q "\"algorithm\":\"$flavour\"" "$repo/encryption.json" ||
		fail "encryption.json: $(cat "$repo/encryption.json")"
	plain=$(backup_path "$repo" 20260131T020000Z)
	packed=$(backup_path "$repo" 20260201T020000Z)
	[ "$(stat -c %s "$plain")" = $(($(stat -c %s "$export_xva") + 28)) ] ||
		fail "$plain: not IV + export + tag"
	if [ "$flavour" = aes-256-gcm ]; then
		[ -f "$plain.checksum" ] || fail "3.3.0 wrote no .xva.checksum"
	else
		[ ! -e "$plain.checksum" ] || fail "4.9.3 wrote a .xva.checksum on an encrypted repository"
	fi

	note "$flavour: every byte (the pass checks the tag), then random ranges from threads"
	out=$("$SRCREAD" --info --key-file "$WORK/key" --repo "$repo" --cache "$WORK/cache" \
		--threads 4 --reads 300 "$plain" "$export_xva" seq random) || fail "reads: $out"
	echo "$out"
	grep -q "^info: kind $flavour size $(stat -c %s "$export_xva") " <<<"$out" || fail "info: $out"
	note "$flavour: authenticated before: random access at once"
	out=$("$SRCREAD" --key-file "$WORK/key" --repo "$repo" --cache "$WORK/cache" \
		--reads 300 "$plain" "$export_xva" random latency) || fail "reads: $out"
	echo "$out"

	note "$flavour: a gzip backup under its decoder"
	out=$("$SRCREAD" --key-file "$WORK/key" --repo "$repo" --threads 3 --reads 100 \
		"$packed" "$export_xva" seq random auth) || fail "gzip: $out"
	echo "$out"

	note "$flavour: unauthenticated on request, then checked"
	out=$("$SRCREAD" --key-file "$WORK/key" --repo "$repo" --unauthenticated --reads 100 \
		"$plain" "$export_xva" random auth) || fail "unauthenticated: $out"
	grep -q '^auth: ok$' <<<"$out" || fail "auth: $out"

	note "$flavour: a wrong key; the backup given without a key, in its repository and copied out of it"
	expect_open EACCESS "^open: error EACCESS: $repo: wrong key: it does not decrypt its metadata.json \($flavour\)$" \
		--key-file "$WORK/wrong" --repo "$repo" "$plain" "$export_xva"
	out=$("$SRCREAD" --guess "$plain") || fail "guess: $out"
	grep -q "^guess: $plain is a backup Xen Orchestra encrypted ($flavour, repository $repo): give the repository's encryption key with --key-file FILE$" <<<"$out" ||
		fail "guess: $out"
	cp "$plain" "$WORK/copied.xva"
	out=$("$SRCREAD" --guess "$WORK/copied.xva") || fail "guess: $out"
	grep -q "look random" <<<"$out" || fail "guess of a copy: $out"
	out=$("$SRCREAD" --guess "$export_xva") && fail "guess of the plain export: $out"

	note "$flavour: one byte changed: the tag fails, in the pass and on request"
	cp "$plain" "$WORK/tampered.xva"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x20]))' \
		"$WORK/tampered.xva" $((5 * 1048576 + 77))
	cmp -s "$plain" "$WORK/tampered.xva" && fail "the byte did not change"
	out=$("$SRCREAD" --key-file "$WORK/key" --alg "$flavour" --noverify "$WORK/tampered.xva" "$export_xva" seq 2>&1) &&
		fail "a tampered file passed: $out"
	grep -q "authentication failed: the $flavour tag at byte .* does not match the data" <<<"$out" ||
		fail "tampered, pass: $out"
	out=$("$SRCREAD" --key-file "$WORK/key" --alg "$flavour" --unauthenticated --noverify \
		"$WORK/tampered.xva" "$export_xva" auth) && fail "a tampered file authenticated: $out"
	grep -q "^auth: error authentication failed" <<<"$out" || fail "tampered, auth: $out"
done

note "unencrypted repository: no encryption.json, and a key is refused"
node "$MKXOREPO" --dir "$WORK/repo-none" --vm "$VM:web01" \
	--backup "2026-01-31T02:00:00Z:$export_xva" >/dev/null || fail "mkxorepo none"
[ -f "$(backup_path "$WORK/repo-none" 20260131T020000Z).checksum" ] || fail "no .xva.checksum"
expect_open EINVAL "is not encrypted: it needs no key" --key-file "$WORK/key" \
	--repo "$WORK/repo-none" "$(backup_path "$WORK/repo-none" 20260131T020000Z)" "$export_xva"

missing=$(missing_s3rver)
if [ -n "$missing" ]; then
	note "no S3 part: needs $missing"
else
	note "chacha20-poly1305 from S3 (s3rver): the repository uploaded as Xen Orchestra's S3 remote keeps it"
	s3rver_start || fail "s3rver did not start"
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
	aws() { /usr/bin/aws --endpoint-url "$S3RVER_URL" "$@"; }
	aws s3 mb s3://xo-br >/dev/null || fail "aws s3 mb"
	aws s3 cp --quiet --recursive "$WORK/repo-chacha20-poly1305" s3://xo-br/br1 || fail "aws s3 cp"
	s3=s3://xo-br/br1/xo-vm-backups/$VM/20260131T020000Z.xva
	out=$("$SRCREAD" --endpoint "$S3RVER_URL" --key-file "$WORK/key" --repo s3://xo-br/br1 \
		--reads 100 "$s3" "$export_xva" seq random) || fail "S3: $out"
	echo "$out"
	expect_open EACCESS "^open: error EACCESS: s3://xo-br/br1: wrong key: " \
		--endpoint "$S3RVER_URL" --key-file "$WORK/wrong" --repo s3://xo-br/br1 "$s3" "$export_xva"
fi
echo "xorepo_crypt: all checks passed"
