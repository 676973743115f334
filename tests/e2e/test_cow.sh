#!/bin/bash
# End-to-end: COW files written by a real UML instance; umlhost cow against uml_mkcow/uml_moo.
source "$(dirname "$0")/lib.sh"
need
command -v uml_mkcow >/dev/null && command -v uml_moo >/dev/null || die "uml-utilities missing"

make_image "$W/base.img" 64M

# --- create: identical header to uml_mkcow, field by field
uml_mkcow "$W/ref.cow" "$W/base.img" || die "uml_mkcow failed"
"$UMLHOST" cow create "$W/disk.cow" "$W/base.img"
check "cow create exits 0" test $? = 0
"$UMLHOST" cow info "$W/ref.cow" > "$W/ref.info"
"$UMLHOST" cow info "$W/disk.cow" > "$W/our.info"
check "cow info of uml_mkcow's and our COW: every field equal" cmp -s "$W/ref.info" "$W/our.info"
grep -q "^backing_file      $W/base.img$" "$W/our.info"
check "header names the absolute backing path" test $? = 0
# bytes of the fixed fields (magic .. cow_format) and the path string, straight from the files
check "fixed header fields byte-identical" cmp -s <(head -c 32 "$W/ref.cow") <(head -c 32 "$W/disk.cow")
check "same file size as uml_mkcow (sparse data area)" \
	test "$(stat -c %s "$W/ref.cow")" = "$(stat -c %s "$W/disk.cow")"
check "our COW is sparse (< 64 KiB allocated)" test "$(stat -c %b "$W/disk.cow")" -lt 128
"$UMLHOST" --json cow info "$W/disk.cow" > "$W/info.json"
python3 - "$W/info.json" "$W/base.img" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1])); st = os.stat(sys.argv[2])
assert d["backing_file"] == sys.argv[2], d
assert d["backing_mtime"] == int(st.st_mtime) & 0xffffffff, d
assert d["size"] == st.st_size and d["sectorsize"] == 512 and d["alignment"] == 4096, d
assert d["bitmap_offset"] == 8192 and d["data_offset"] == 8192 + 16384 and d["allocated_sectors"] == 0, d
PY
check "--json cow info has the INTERFACE.md fields with the right values" test $? = 0
"$UMLHOST" cow create "$W/disk.cow" "$W/base.img" 2> "$W/err"
rc=$?
check "create over an existing COW is refused (exit 1, says exists)" \
	bash -c "test $rc = 1 && grep -q 'already exists' '$W/err'"

# --- a real instance writes files through the COW
boot_uml cowwriter "$W/boot1.log" ubd0="$W/disk.cow","$W/base.img" rw uhmode=write
wait_for "$W/boot1.log" UH-WRITE-DONE 60 || { cat "$W/boot1.log"; die "guest did not finish writing"; }
ok "guest wrote its files through our COW"
"$UMLHOST" mconsole --uml-dir "$UML_DIR" cowwriter halt > /dev/null
check "instance halts and its process exits" wait_exit "$BOOT_PID" 10
alloc=$("$UMLHOST" --json cow info "$W/disk.cow" | python3 -c 'import json,sys; print(json.load(sys.stdin)["allocated_sectors"])')
check "cow info counts the guest's writes (allocated_sectors=$alloc > 4096)" test "$alloc" -gt 4096

# --- merge: byte-identical to uml_moo
sha_base=$(sha256sum < "$W/base.img")
"$UMLHOST" cow merge "$W/disk.cow" "$W/merged.img"
check "cow merge exits 0" test $? = 0
uml_moo "$W/disk.cow" "$W/moo.img" > /dev/null || die "uml_moo failed"
check "merged image equals uml_moo's output byte for byte" cmp "$W/merged.img" "$W/moo.img"
check "merged image is sparse (allocated < virtual size)" \
	test "$(( $(stat -c %b "$W/merged.img") * 512 ))" -lt "$(stat -c %s "$W/merged.img")"
check "backing file untouched by merge" test "$(sha256sum < "$W/base.img")" = "$sha_base"
"$UMLHOST" cow merge "$W/disk.cow" "$W/merged.img" 2> "$W/err"
check "merge refuses an existing output" bash -c "test $? = 1 && grep -q 'already exists' '$W/err'"

# --- the merged image boots and shows the guest's files
"$UMLHOST" cow create "$W/verify.cow" "$W/merged.img"
boot_uml cowverify "$W/boot2.log" ubd0="$W/verify.cow","$W/merged.img" uhmode=verify
wait_for "$W/boot2.log" UH-VERIFY 60 || { cat "$W/boot2.log"; die "verify boot did not finish"; }
check "merged image boots and the guest's files verify (sha256sum -c)" grep -q "UH-VERIFY-OK 22 files" "$W/boot2.log"
"$UMLHOST" mconsole --uml-dir "$UML_DIR" cowverify halt > /dev/null
wait_exit "$BOOT_PID" 10

# --- --backing: a verified copy (same size and mtime) replaces the header's path
cp --sparse=always --preserve=timestamps "$W/base.img" "$W/copy.img"
"$UMLHOST" cow merge --backing "$W/copy.img" "$W/disk.cow" "$W/merged2.img"
check "merge --backing with a verified copy gives the same bytes" cmp "$W/merged2.img" "$W/moo.img"

# --- a tampered backing file is refused, and left untouched
touch -m -d '2001-01-01' "$W/base.img"
sha_before=$(sha256sum < "$W/base.img")
mtime_before=$(stat -c %Y "$W/base.img")
"$UMLHOST" cow merge "$W/disk.cow" "$W/tampered.img" 2> "$W/err"
rc=$?
check "merge over a modified backing exits 1" test $rc = 1
check "the error says the backing file was modified" grep -q "was modified since the COW was created" "$W/err"
check "the error is one line" test "$(wc -l < "$W/err")" = 1
check "no output and no temp file left" bash -c "! ls -A '$W' | grep -q -e '^tampered' -e '^\.tampered'"
check "backing content untouched" test "$(sha256sum < "$W/base.img")" = "$sha_before"
check "backing mtime untouched" test "$(stat -c %Y "$W/base.img")" = "$mtime_before"
"$UMLHOST" cow merge --backing "$W/base.img" "$W/disk.cow" "$W/tampered.img" 2> /dev/null
check "--backing does not bypass the check" test $? = 1
"$UMLHOST" cow info "$W/base.img" 2> "$W/err"
check "cow info on a non-COW file: clear error" bash -c "test $? = 1 && grep -q 'not a COW file' '$W/err'"

finish
