#!/usr/bin/env python3
"""Give the libgomp that auditwheel bundled back its standard SONAME, libgomp.so.1.

Why: auditwheel renames every bundled library to <name>-<hash>.so.N and points the extension
at that name.  For most libraries that avoids clashes, but for the OpenMP runtime it makes a
second copy load beside the one PyTorch ships (torch/lib/libgomp.so.1): two thread pools, two
sets of OMP_* settings, oversubscription.  glibc's loader reuses an already loaded library whose
SONAME equals a DT_NEEDED entry, so with the standard name one GNU OpenMP runtime serves both,
whichever package is imported first.  The bundled copy still sits in autograd_c.libs/ and is
found through the RUNPATH auditwheel set, so the wheel stays self-contained.

Usage: repair_wheel_linux.py WHEEL [WHEEL...] -w OUTDIR      (needs patchelf on PATH)
"""
import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

STANDARD = "libgomp.so.1"


def patchelf(*args):
    return subprocess.run(["patchelf", *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def record_line(root, rel):
    with open(os.path.join(root, rel), "rb") as f:
        data = f.read()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{rel},sha256={digest},{len(data)}"


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def fix_wheel(wheel, outdir):
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            infos = {i.filename: i for i in zf.infolist()}
            zf.extractall(tmp)
        for name, info in infos.items():      # keep the executable bits
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(os.path.join(tmp, name), mode)
        gomps = [n for n in names if re.search(r"\.libs/libgomp-[0-9a-f]+\.so[.0-9]*$", n)]
        if len(gomps) > 1:
            sys.exit(f"{wheel}: more than one bundled libgomp: {gomps}")
        if gomps:
            old_rel = gomps[0]
            old_name = os.path.basename(old_rel)
            new_rel = os.path.join(os.path.dirname(old_rel), STANDARD).replace(os.sep, "/")
            os.rename(os.path.join(tmp, old_rel), os.path.join(tmp, new_rel))
            patchelf("--set-soname", STANDARD, os.path.join(tmp, new_rel))
            patched = []
            for n in names:
                p = os.path.join(tmp, n)
                if n == old_rel or not os.path.isfile(p) or not is_elf(p):
                    continue
                if old_name in patchelf("--print-needed", p).split():
                    patchelf("--replace-needed", old_name, STANDARD, p)
                    assert STANDARD in patchelf("--print-needed", p).split()
                    patched.append(n)
            if not patched:
                sys.exit(f"{wheel}: nothing in the wheel needs {old_name}")
            names = [new_rel if n == old_rel else n for n in names]
            print(f"{os.path.basename(wheel)}: {old_rel} -> {new_rel} (SONAME {STANDARD}); "
                  f"DT_NEEDED updated in {', '.join(patched)}")
        else:
            print(f"{os.path.basename(wheel)}: no bundled libgomp; copied unchanged")
        record = next(n for n in names if re.fullmatch(r"[^/]+\.dist-info/RECORD", n))
        lines = [record_line(tmp, n) for n in names if n != record and not n.endswith("/")]
        with open(os.path.join(tmp, record), "w", newline="\n") as f:
            f.write("\n".join(lines + [f"{record},,"]) + "\n")
        os.makedirs(outdir, exist_ok=True)
        out = os.path.join(outdir, os.path.basename(wheel))
        tmp_out = out + ".part"
        # dist-info last, as the wheel spec recommends
        order = sorted(names, key=lambda n: (".dist-info/" in n, n == record))
        with zipfile.ZipFile(tmp_out, "w", zipfile.ZIP_DEFLATED) as zf:
            for n in order:
                if n.endswith("/"):
                    continue
                zi = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = (os.stat(os.path.join(tmp, n)).st_mode & 0o777 | 0o100000) << 16
                with open(os.path.join(tmp, n), "rb") as f:
                    zf.writestr(zi, f.read())
        shutil.move(tmp_out, out)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheels", nargs="+")
    ap.add_argument("-w", "--wheel-dir", required=True)
    args = ap.parse_args()
    if shutil.which("patchelf") is None:
        sys.exit("patchelf not found on PATH")
    for w in args.wheels:
        print(fix_wheel(w, args.wheel_dir))


if __name__ == "__main__":
    main()
