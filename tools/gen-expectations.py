#!/usr/bin/python3
"""gen-expectations.py - expected metadata for every file of the shared corpus, from readers
that are not medstore's.

Writes tests/unit/formats/expect/{dicom,emr,video,top}.tsv: one row per (file, key, value).
Every file gets a "type" row; a file medstore must refuse gets "error" (the error name) and
"detected" (what its signature claimed) rows and nothing else. tests/unit/formats/
test_corpus.c runs medstore's extractor over every corpus file and compares exactly.

Where the values come from:
  - DICOM: pydicom 2.3.1 (python3-pydicom) finds the elements and their bytes; dcmtk's
    dcmdump decides which files are broken: a file dcmdump refuses is expected to fail,
    with the error named by the table DCMDUMP_ERRORS below (each row says why).
  - FHIR JSON / NDJSON: python's json; FHIR XML and C-CDA: python's xml.etree (expat);
    HL7 v2, PDF, MP4: small readers written here from the specifications. MP4 durations are
    cross-checked against ffprobe.
  The rules that turn what these readers see into medstore's fields (which attributes,
  padding, the patient key, the FHIR date order, the detection order) are the documented
  ones (docs/formats/metadata.md, docs/formats/patient-key.md); this script implements them
  a second time, independently of the C code.

Usage: /usr/bin/python3 tools/gen-expectations.py [--corpus DIR] [--out DIR] [--check]
  --check  regenerates into memory and exits 1 when the committed files differ.
"""

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET

import pydicom
from pydicom.tag import Tag

# Key order of struct ms_meta (enum ms_meta_key), used to order the rows.
KEYS = [
    "patientKey", "PatientID", "IssuerOfPatientID", "PatientName", "StudyInstanceUID",
    "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "Modality", "StudyDate",
    "TransferSyntaxUID", "NumberOfFrames", "SpecificCharacterSet", "resourceType", "id",
    "patientReference", "date", "entryCount", "messageType", "messageControlId",
    "messageDateTime", "documentCode", "effectiveTime", "pdfVersion", "majorBrand",
    "durationMs",
]

VALUE_MAX = 1024


class Refused(Exception):
    """The file must be refused with this medstore error name."""

    def __init__(self, name, why):
        super().__init__(why)
        self.name = name


# ---------------------------------------------------------------------------------------
# Patient key (docs/formats/patient-key.md)

def patient_key(issuer, pid):
    if not pid:
        return None
    issuer = issuer or ""
    if issuer.startswith("urn:oid:") and len(issuer) > len("urn:oid:"):
        issuer = issuer[len("urn:oid:"):]

    def esc(s):
        return s.replace("\\", "\\\\").replace("|", "\\|")
    return esc(issuer) + "|" + esc(pid)


# ---------------------------------------------------------------------------------------
# Detection (docs/formats/metadata.md, "Detection order")

VRS = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD",
       "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI",
       "UL", "UN", "UR", "US", "UT", "UV"}
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def is_vr(two):
    return len(two) == 2 and two.decode("latin-1") in VRS


def dicom_headless(b):
    if len(b) < 8:
        return False
    group = struct.unpack_from("<H", b, 0)[0]
    if group not in (0x0002, 0x0008):
        return False
    if is_vr(b[4:6]):
        if b[4:6].decode() not in LONG_VRS:
            return struct.unpack_from("<H", b, 6)[0] <= len(b) - 8
        if len(b) < 12:
            return False
        n = struct.unpack_from("<I", b, 8)[0]
        return n <= len(b) - 12 or n == 0xFFFFFFFF
    return struct.unpack_from("<I", b, 4)[0] <= len(b) - 8


def hl7_delim(c):
    return 0x20 < c < 0x7F and not chr(c).isalnum()


def xml_kind(b, i):
    end = min(len(b), 64 << 10)
    while i < end:
        while i < end and b[i] in b" \t\r\n":
            i += 1
        if i >= end or b[i:i + 1] != b"<":
            return "other"
        if b[i + 1:i + 2] == b"?":
            j = b.find(b"?>", i + 2, end)
            i = 0 if j < 0 else j + 2
        elif b[i:i + 4] == b"<!--":
            j = b.find(b"-->", i + 4, end)
            i = 0 if j < 0 else j + 3
        elif b[i + 1:i + 2] == b"!":
            depth, j = 0, i + 2
            i = 0
            while j < end:
                c = b[j:j + 1]
                if c == b"[":
                    depth += 1
                elif c == b"]" and depth > 0:
                    depth -= 1
                elif c == b">" and depth == 0:
                    i = j + 1
                    break
                j += 1
        else:
            j = i + 1
            while j < end and b[j:j + 1] not in (b" ", b"\t", b"\r", b"\n", b">", b"/"):
                j += 1
            name = b[i + 1:j]
            local = name.rsplit(b":", 1)[-1]
            if local == b"ClinicalDocument":
                return "cda"
            k = b.find(b">", j, end)
            if k < 0:
                return "other"
            tag = b[j:k + 1]
            if b'"http://hl7.org/fhir"' in tag or b"'http://hl7.org/fhir'" in tag:
                return "fhir-xml"
            return "other"
        if i == 0:
            return "other"
    return "other"


def ndjson_shape(b, i):
    depth, in_str, esc, closed = 0, False, False, False
    while i < len(b) and b[i] != 0x0A:
        c = b[i]
        if closed:
            if c not in b" \t\r":
                return False
        elif in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in b"{[":
            depth += 1
        elif c in b"}]":
            if depth == 0:
                return False
            depth -= 1
            if depth == 0:
                closed = True
        i += 1
    if not closed:
        return False
    return any(c not in b" \t\r\n" for c in b[i:])


def detect(b):
    if not b:
        return "other"
    if (len(b) >= 132 and b[128:132] == b"DICM") or b[:4] == b"DICM":
        return "dicom"
    if b[:5] == b"%PDF-":
        return "pdf"
    if len(b) >= 8 and b[4:8] == b"ftyp":
        return "mp4"
    if dicom_headless(b):
        return "dicom"
    i = 3 if b[:3] == b"\xef\xbb\xbf" else 0
    if len(b) - i >= 4 and b[i:i + 3] == b"MSH" and hl7_delim(b[i + 3]):
        return "hl7v2"
    while i < len(b) and i < (64 << 10) and b[i] in b" \t\r\n":
        i += 1
    if i >= len(b):
        return "other"
    c = b[i:i + 1]
    if c == b"<":
        return xml_kind(b, i)
    if c == b"{":
        return "fhir-ndjson" if ndjson_shape(b, i) else "fhir-json"
    if c == b"/" and b'"resourceType"' in b[i:4096]:
        return "fhir-json"
    return "other"


# ---------------------------------------------------------------------------------------
# DICOM: pydicom for the elements, dcmdump for the verdict on broken files

WANTED = [  # (tag, key, vr)
    (0x00080005, "SpecificCharacterSet", "CS"),
    (0x00080016, "SOPClassUID", "UI"),
    (0x00080018, "SOPInstanceUID", "UI"),
    (0x00080020, "StudyDate", "DA"),
    (0x00080060, "Modality", "CS"),
    (0x00100010, "PatientName", "PN"),
    (0x00100020, "PatientID", "LO"),
    (0x00100021, "IssuerOfPatientID", "LO"),
    (0x0020000D, "StudyInstanceUID", "UI"),
    (0x0020000E, "SeriesInstanceUID", "UI"),
    (0x00280008, "NumberOfFrames", "IS"),
]

# dcmdump (dcmtk 3.6.7) error text -> the error medstore must give, and why.
DCMDUMP_ERRORS = [
    (re.compile(r"larger \(\d+\) than remaining bytes"), "ETRUNCATED",
     "an element declares more bytes than the file holds: the file was cut short"),
    (re.compile(r"Sequence Delimitation Item missing"), "ETRUNCATED",
     "the file ends inside encapsulated Pixel Data, before its sequence delimiter"),
    (re.compile(r"explicit length Pixel Data in top level dataset with transfer syntax"),
     "EFORMAT",
     "the transfer syntax says encapsulated but the Pixel Data is native: the file lies "
     "about its encoding, so a decoder trusting it would fail"),
]


def dcmdump_verdict(path):
    r = subprocess.run(["dcmdump", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, errors="replace")
    if r.returncode == 0:
        return None
    for rx, name, why in DCMDUMP_ERRORS:
        if rx.search(r.stderr):
            return Refused(name, why)
    raise SystemExit("dcmdump refuses %s for a reason without a decision in DCMDUMP_ERRORS:"
                     "\n%s" % (path, r.stderr))


def dicom_trim(raw, vr):
    if isinstance(raw, str):
        s = raw.rstrip(" \x00")
        return s.lstrip(" ") if vr in ("CS", "DA", "IS", "UI") else s
    s = raw.rstrip(b" \x00")
    if vr in ("CS", "DA", "IS", "UI"):
        s = s.lstrip(b" ")
    return s


def raw_bytes(ds, tag):
    elem = ds.get_item(Tag(tag))
    if elem is None:
        return None
    v = elem.value
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if v is None:
        return b""
    # pydicom sometimes converts while reading (the character set, empty values): then it
    # is text already, with DICOM's multi-value separator restored.
    if isinstance(v, str):
        return v
    if isinstance(v, (list, pydicom.multival.MultiValue)):
        return "\\".join(str(x) for x in v)
    raise SystemExit("unexpected converted element %08x: %r" % (tag, v))


def dicom_expect(path, b):
    verdict = dcmdump_verdict(path)
    if verdict is not None:
        raise verdict
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True, defer_size=None)
    raw = {key: raw_bytes(ds, tag) for tag, key, _ in WANTED}
    cs = raw["SpecificCharacterSet"]
    cs = dicom_trim(cs, "CS") if cs is not None else ""
    cs = cs.decode("ascii") if isinstance(cs, bytes) else cs
    latin1 = cs in ("ISO_IR 100", "ISO 2022 IR 100")
    out = {}
    for tag, key, vr in WANTED:
        v = raw[key]
        if v is None:
            continue
        v = dicom_trim(v, vr)
        text = vr in ("PN", "LO")
        if isinstance(v, bytes):
            v = v.decode("latin-1") if (text and latin1) else v.decode("utf-8")
        out[key] = v
        if key == "PatientID":
            assert out[key] == str(ds.PatientID), path  # pydicom's own reading agrees
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get_item(Tag(0x00020010)) is not None:
        ts = meta.get_item(Tag(0x00020010)).value
        ts = ts if isinstance(ts, bytes) else str(ts).encode()
        out["TransferSyntaxUID"] = dicom_trim(ts, "UI").decode("ascii")
    key = patient_key(out.get("IssuerOfPatientID"), out.get("PatientID"))
    if key is not None:
        out["patientKey"] = key
    return out


# ---------------------------------------------------------------------------------------
# FHIR (JSON, NDJSON, XML): the documented rules over python's json / xml.etree

DATE_ELEMS = ["effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued",
              "date", "authoredOn", "recordedDate", "onsetDateTime", "performedDateTime",
              "occurrenceDateTime", "started", "birthDate", "timestamp"]
PATIENTS_MAX = 4096


class JsonView:
    """Access to a resource parsed by json."""

    @staticmethod
    def s(v):
        return v if isinstance(v, str) else None

    @classmethod
    def get(cls, o, k):
        return o.get(k) if isinstance(o, dict) else None

    @classmethod
    def value(cls, o, k):
        return cls.s(cls.get(o, k))

    @classmethod
    def items(cls, o, k):
        v = cls.get(o, k)
        return v if isinstance(v, list) else []

    @classmethod
    def rtype(cls, o):
        return cls.value(o, "resourceType")


FHIR_NS = "{http://hl7.org/fhir}"


class XmlView:
    """Access to a resource parsed by xml.etree: primitives in @value."""

    @staticmethod
    def get(o, k):
        return o.find(FHIR_NS + k) if o is not None else None

    @classmethod
    def value(cls, o, k):
        c = cls.get(o, k)
        return c.get("value") if c is not None else None

    @staticmethod
    def items(o, k):
        return o.findall(FHIR_NS + k) if o is not None else []

    @staticmethod
    def rtype(o):
        return o.tag[len(FHIR_NS):] if o is not None and o.tag.startswith(FHIR_NS) else None


def facts(v, r):
    f = {"type": v.rtype(r), "id": v.value(r, "id"), "full_url": None, "ident_sys": None,
         "ident_val": None, "ref": None, "patient_elem": False, "typed": False,
         "ref_sys": None, "ref_val": None, "date": None}
    for ident in v.items(r, "identifier"):
        val = v.value(ident, "value")
        if val:
            f["ident_val"], f["ident_sys"] = val, v.value(ident, "system")
            break
    pat, subj = v.get(r, "patient"), v.get(r, "subject")
    is_obj = (lambda o: isinstance(o, dict)) if v is JsonView else (lambda o: o is not None)
    ref = pat if is_obj(pat) else (subj if is_obj(subj) else None)
    if ref is not None:
        f["patient_elem"] = ref is pat
        f["ref"] = v.value(ref, "reference")
        f["typed"] = v.value(ref, "type") == "Patient"
        ident = v.get(ref, "identifier")
        f["ref_sys"], f["ref_val"] = v.value(ident, "system"), v.value(ident, "value")
    for name in DATE_ELEMS:
        parent, _, child = name.partition(".")
        d = v.value(v.get(r, parent), child) if child else v.value(r, name)
        if d is not None:
            f["date"] = d
            break
    return f


def ref_patient_syntax(f):
    if f["patient_elem"] or f["typed"]:
        return True
    ref = f["ref"]
    return bool(ref) and (ref.startswith("Patient/") and len(ref) > 8 or "/Patient/" in ref)


def lookup(patients, ref):
    if not ref:
        return None
    for p in patients:
        if p["full_url"] and ref == p["full_url"]:
            return p
        pid = p["id"]
        if pid:
            tail = "Patient/" + pid
            if ref.endswith(tail) and (len(ref) == len(tail) or ref[-len(tail) - 1] == "/"):
                return p
            if ref == "#" + pid and not p["full_url"]:
                return p
    return None


def self_ref(p):
    if p["full_url"] and not p["full_url"].startswith("#"):
        return p["full_url"]
    return "Patient/" + p["id"] if p["id"] else None


def key_of_patient(p):
    if p["ident_val"]:
        return patient_key(p["ident_sys"], p["ident_val"])
    s = self_ref(p)
    return patient_key("", s) if s else None


def fhir_summary(v, top):
    f = facts(v, top)
    bundle = f["type"] == "Bundle"
    patients, first_patient, first_ref, n_entries = [], None, None, 0
    for c in v.items(top, "contained"):
        r = c if v is JsonView else (list(c)[0] if len(c) else None)
        if r is None or (v is XmlView and not r.tag.startswith(FHIR_NS)):
            continue
        cf = facts(v, r)
        if cf["type"] == "Patient" and len(patients) < PATIENTS_MAX:
            patients.append(cf)
    if bundle:
        entries = v.items(top, "entry")
        n_entries = len(entries)
        for e in entries:
            if v is JsonView:
                res = v.get(e, "resource")
                if not (isinstance(res, dict) and v.rtype(res)):
                    continue
            else:
                w = v.get(e, "resource")
                res = list(w)[0] if w is not None and len(w) else None
                if res is None or not res.tag.startswith(FHIR_NS):
                    continue
            ef = facts(v, res)
            ef["full_url"] = v.value(e, "fullUrl")
            if ef["type"] == "Patient":
                first_patient = first_patient or ef
                if len(patients) < PATIENTS_MAX:
                    patients.append(ef)
            elif first_ref is None and ref_patient_syntax(ef) and (ef["ref"] or ef["ref_val"]):
                first_ref = ef
    out = {}
    for k, fk in (("resourceType", "type"), ("id", "id"), ("date", "date")):
        if f[fk] is not None:
            out[k] = f[fk]
    if bundle:
        out["entryCount"] = str(n_entries)
    key, ref = None, None
    if f["type"] == "Patient":
        key = key_of_patient(f)
    elif bundle and first_patient is not None:
        ref, key = self_ref(first_patient), key_of_patient(first_patient)
    else:
        r = first_ref if bundle else f
        if r is not None and (ref_patient_syntax(r) or lookup(patients, r["ref"])):
            ref = r["ref"] or None
            p = lookup(patients, r["ref"])
            if p is not None:
                key = key_of_patient(p)
            elif r["ref_val"]:
                key = patient_key(r["ref_sys"], r["ref_val"])
            elif r["ref"]:
                key = patient_key("", r["ref"])
    if ref is not None:
        out["patientReference"] = ref
    if key is not None:
        out["patientKey"] = key
    return out


def json_load_one(text, base):
    """Strict enough for the corpus: python's json refuses comments and trailing data."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise Refused("ETRUNCATED", "input ends inside a JSON value")
        raise Refused("EFORMAT", "JSON syntax error at %d" % (base + e.pos))


def fhir_json_expect(b):
    i = 3 if b[:3] == b"\xef\xbb\xbf" else 0
    try:
        text = b[i:].decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("EFORMAT", "invalid UTF-8")
    o = json_load_one(text, i)
    if not JsonView.rtype(o):
        raise Refused("EFORMAT", "not a FHIR resource")
    return fhir_summary(JsonView, o)


def fhir_ndjson_expect(b):
    lines = [ln for ln in b.split(b"\n") if ln.strip(b" \t\r\n")]
    if not lines:
        raise Refused("EFORMAT", "no resource")
    keys, rtype = [], None
    for ln in lines:
        o = json_load_one(ln.decode("utf-8"), 0)
        if not JsonView.rtype(o):
            raise Refused("EFORMAT", "not a FHIR resource")
        s = fhir_summary(JsonView, o)
        rtype = rtype or s["resourceType"]
        keys.append(s.get("patientKey"))
    out = {"resourceType": rtype, "entryCount": str(len(lines))}
    if keys[0] is not None and all(k == keys[0] for k in keys):
        out["patientKey"] = keys[0]
    return out


def xml_parse(b):
    head = b[:64 << 10]
    root_at = re.search(rb"<[A-Za-z_]", head)
    if re.search(rb"<!DOCTYPE", head[:root_at.start()] if root_at else head):
        raise Refused("EUNSUPPORTED", "a DOCTYPE is refused")
    try:
        return ET.fromstring(b)
    except ET.ParseError as e:
        raise Refused("EFORMAT", "not well-formed: %s" % e)


def fhir_xml_expect(b):
    root = xml_parse(b)
    if not root.tag.startswith(FHIR_NS):
        raise Refused("EFORMAT", "root not in the FHIR namespace")
    return fhir_summary(XmlView, root)


V3 = "{urn:hl7-org:v3}"


def cda_expect(b):
    root = xml_parse(b)
    if root.tag != V3 + "ClinicalDocument":
        raise Refused("EFORMAT", "not a ClinicalDocument")
    out = {}
    rt = root.find(V3 + "recordTarget")
    role = rt.find(V3 + "patientRole") if rt is not None else None
    ext = root_oid = root_only = None
    for i in (role.findall(V3 + "id") if role is not None else []):
        if i.get("extension"):
            ext, root_oid = i.get("extension"), i.get("root")
            break
        if root_only is None and i.get("root"):
            root_only = i.get("root")
    if ext is None:
        ext, root_oid = root_only, None
    if ext:
        out["PatientID"] = ext
    if root_oid:
        out["IssuerOfPatientID"] = root_oid
    if ext:
        out["patientKey"] = patient_key(root_oid or "", ext)
    code = root.find(V3 + "code")
    if code is not None and code.get("code"):
        out["documentCode"] = code.get("code")
    et = root.find(V3 + "effectiveTime")
    if et is not None and et.get("value"):
        out["effectiveTime"] = et.get("value")
    return out


# ---------------------------------------------------------------------------------------
# HL7 v2, PDF, MP4: small readers from the specifications

def hl7_expect(b):
    i = 3 if b[:3] == b"\xef\xbb\xbf" else 0
    b = b[i:]
    fs = b[3:4]
    enc = re.match(rb"[^\r\n" + re.escape(fs) + rb"]*", b[4:]).group(0)
    if not (4 <= len(enc) <= 5) or not all(hl7_delim(c) for c in enc) or enc[0] == enc[1]:
        raise Refused("EFORMAT", "bad encoding characters")
    comp, rep, escc, sub = (enc[k:k + 1] for k in range(4))
    decode = escc not in (comp, rep, sub)
    table = {b"F": fs, b"S": comp, b"T": sub, b"R": rep, b"E": escc}

    def unesc(s):
        if not decode:
            return s
        out, k = b"", 0
        while k < len(s):
            if s[k:k + 1] == escc and k + 2 < len(s) and s[k + 2:k + 3] == escc and \
                    s[k + 1:k + 2] in table:
                out += table[s[k + 1:k + 2]]
                k += 3
            else:
                out += s[k:k + 1]
                k += 1
        return out

    def piece(s, sep, n):
        if s is None:
            return None
        parts = s.split(sep)
        return parts[n] if n < len(parts) else None

    segs = [s for s in re.split(rb"[\r\n]", b) if s]
    out = {}
    msh = segs[0]
    msh9 = piece(msh, fs, 8)
    typ, ev = piece(msh9, comp, 0), piece(msh9, comp, 1)
    if not typ:
        raise Refused("EFORMAT", "MSH-9 missing")
    out["messageType"] = unesc(typ) + (b"^" + unesc(ev) if ev else b"")
    t = piece(piece(msh, fs, 6), comp, 0)
    if t and unesc(t):
        out["messageDateTime"] = unesc(t)
    c = piece(msh, fs, 9)
    if c and unesc(c):
        out["messageControlId"] = unesc(c)
    pid = next((s for s in segs[1:] if s[:3] == b"PID" and (len(s) == 3 or s[3:4] == fs)),
               None)
    if pid is not None:
        cx = piece(piece(pid, fs, 3), rep, 0)
        hd = piece(cx, comp, 3)
        issuer = piece(hd, sub, 1) or piece(hd, sub, 0)
        pid_id = piece(cx, comp, 0)
        if pid_id and unesc(pid_id):
            out["PatientID"] = unesc(pid_id)
        if issuer and unesc(issuer):
            out["IssuerOfPatientID"] = unesc(issuer)
    out = {k: v.decode("utf-8") for k, v in out.items()}
    if "PatientID" in out:
        out["patientKey"] = patient_key(out.get("IssuerOfPatientID", ""), out["PatientID"])
    return out


def pdf_expect(b):
    m = re.match(rb"%PDF-([0-9.]{1,8})", b)
    if not m:
        raise Refused("EFORMAT", "no version")
    if b"%%EOF" not in b[-1024:]:
        raise Refused("ETRUNCATED", "no %%EOF in the last 1 KiB")
    return {"pdfVersion": m.group(1).decode()}


def boxes(b, off, end):
    while off < end:
        size, typ = struct.unpack_from(">I4s", b, off)
        hdr = 8
        if size == 1:
            size, hdr = struct.unpack_from(">Q", b, off + 8)[0], 16
        elif size == 0:
            size = end - off
        if off + size > end:
            raise Refused("ETRUNCATED", "box runs past the end")
        yield typ, off + hdr, off + size
        off += size


def mp4_expect(path, b):
    out = {}
    timescale = duration = frag = 0
    for n, (typ, body, end) in enumerate(boxes(b, 0, len(b))):
        if n == 0:
            out["majorBrand"] = b[body:body + 4].decode("latin-1")
        elif typ == b"moov" and "moov" not in out:
            out["moov"] = True
            for t2, b2, e2 in boxes(b, body, end):
                v1 = b[b2] == 1
                if t2 == b"mvhd":
                    timescale = struct.unpack_from(">I", b, b2 + (20 if v1 else 12))[0]
                    duration = struct.unpack_from(">Q" if v1 else ">I", b,
                                                  b2 + (24 if v1 else 16))[0]
                elif t2 == b"mvex":
                    t3, b3, _ = next(boxes(b, b2, e2))
                    if t3 == b"mehd":
                        frag = struct.unpack_from(">Q" if b[b3] == 1 else ">I", b, b3 + 4)[0]
    out.pop("moov", None)
    duration = duration or frag
    if timescale and duration:
        ms = duration * 1000 // timescale
        out["durationMs"] = str(ms)
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                                "-of", "csv=p=0", path], capture_output=True, text=True)
        assert abs(float(probe.stdout) * 1000 - ms) < 100, (path, probe.stdout, ms)
    return out


# Decisions on corpus files in malformed/ that medstore does NOT refuse; checked below.
NOT_REFUSED = {
    "dicom/malformed/no_meta.dcm": (
        "other", "one stray byte before a bare dataset: the first tag reads (0820,0500), "
        "which no dataset starts with, so nothing says DICOM; it is stored as other (a "
        "reader told to treat it as DICOM, like dcmdump, fails on it)"),
    "dicom/malformed/54-implicit-file-meta-info.dcm": (
        "dicom", "File Meta encoded implicit VR instead of explicit: non-conformant but "
        "unambiguous; pydicom and dcmdump both read it (warnings only), so do we"),
    "dicom/malformed/bad_sequence.dcm": (
        "dicom", "the damaged sequence is a defined-length UN element, jumped over whole; "
        "pydicom and dcmdump read the file without error"),
    "emr/malformed/cda-nonXMLBody-compressed-fragment.xml": (
        "other", "a bare <component> fragment without ClinicalDocument root or namespace is "
        "not a CDA document; its bad base64 is content, which metadata extraction never "
        "decodes; stored as other"),
}


# ---------------------------------------------------------------------------------------

def expect_file(path, b):
    t = detect(b)
    try:
        if t == "dicom":
            vals = dicom_expect(path, b)
        elif t == "fhir-json":
            vals = fhir_json_expect(b)
        elif t == "fhir-ndjson":
            vals = fhir_ndjson_expect(b)
        elif t == "fhir-xml":
            vals = fhir_xml_expect(b)
        elif t == "cda":
            vals = cda_expect(b)
        elif t == "hl7v2":
            vals = hl7_expect(b)
        elif t == "pdf":
            vals = pdf_expect(b)
        elif t == "mp4":
            vals = mp4_expect(path, b)
        else:
            vals = {}
    except Refused as r:
        return [("type", "other"), ("detected", t), ("error", r.name)], str(r)
    for k, v in vals.items():
        assert k in KEYS, k
        if len(v.encode("utf-8")) > VALUE_MAX:
            return [("type", "other"), ("detected", t), ("error", "ELIMIT")], "value too long"
    rows = [("type", t)] + [(k, vals[k]) for k in KEYS if k in vals]
    return rows, None


def tsv_escape(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def generate(corpus):
    files = {}
    for d, _, names in os.walk(corpus):
        for n in names:
            p = os.path.join(d, n)
            files[os.path.relpath(p, corpus)] = p
    out = {}
    for rel in sorted(files):
        with open(files[rel], "rb") as f:
            b = f.read()
        rows, why = expect_file(files[rel], b)
        group = rel.split(os.sep)[0] if os.sep in rel else "top"
        lines = out.setdefault(group, [])
        if why:
            lines.append("# %s: refused because %s" % (rel, why))
        elif "/malformed/" in rel:
            want, note = NOT_REFUSED[rel]
            assert rows[0] == ("type", want), (rel, rows[0], want)
            lines.append("# %s: %s, because %s" % (rel, want, note))
        for k, v in rows:
            lines.append("%s\t%s\t%s" % (tsv_escape(rel), k, tsv_escape(v)))
    header = ("# Generated by tools/gen-expectations.py from readers other than medstore's "
              "(pydicom, dcmdump, python json/xml.etree, ffprobe).\n# Do not edit: rerun the "
              "script. Columns: corpus-relative file, key, value (\\\\ \\t \\n \\r escaped).\n")
    return {g: header + "\n".join(lines) + "\n" for g, lines in out.items()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(root, "..", "shared", "testdata"))
    ap.add_argument("--out", default=os.path.join(root, "tests", "unit", "formats", "expect"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(a.corpus):
        sys.exit("gen-expectations: corpus %s not found" % a.corpus)
    result = generate(a.corpus)
    if a.check:
        bad = [g for g, text in result.items()
               if not os.path.exists(os.path.join(a.out, g + ".tsv")) or
               open(os.path.join(a.out, g + ".tsv"), encoding="utf-8").read() != text]
        if bad:
            sys.exit("gen-expectations: out of date: %s" % ", ".join(bad))
        return
    os.makedirs(a.out, exist_ok=True)
    for g, text in result.items():
        with open(os.path.join(a.out, g + ".tsv"), "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote %s (%d rows)" % (os.path.join(a.out, g + ".tsv"), text.count("\n") - 2))


if __name__ == "__main__":
    main()
