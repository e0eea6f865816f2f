"""The IAM stages on bad input, run as `python -m stages.iam_download` / `stages.iam_convert` in a copy of the project
with generated archives and a local copy of the site (never the network): one `error:` line naming the archive, file
or key with exit code 2 and every file as it was; or, when some forms are usable, exit 0 with one `warning:` line."""
from __future__ import annotations

import io
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import copy_project, run, stage, write_params
from faults import refused
from hwdetect.files.tables import read_table
from hwdetect.sources.iam.sample import ARCHIVES, archive_members, make_form, tgz_bytes
from iam_fixtures import FakeIAMSite

EMAIL, PASSWORD = "writer@example.org", "Pa55-zebra-quokka-7781"
NO_ENV = {"IAM_USERNAME": "", "IAM_PASSWORD": ""}
GOOD = make_form("a01-000u", "000", seed=1)


@pytest.fixture(scope="module")
def members() -> dict[str, dict[str, bytes]]:
    return archive_members([GOOD])


@pytest.fixture(scope="module")
def project(tmp_path_factory, members) -> Path:
    """One project copy whose IAM source was converted once from good archives (the output every case keeps)."""
    p = copy_project(tmp_path_factory.mktemp("faults-iam") / "project")
    write_params(p, {"iam": {"workers": 1}})
    put_archives(p, members)
    stage(p, "iam_convert")
    return p


def folder(project: Path) -> Path:
    return project / "data" / "iam" / "archives"


def put_archives(project: Path, members: dict[str, dict[str, bytes]], **raw: bytes) -> None:
    """The four archives from `members`, any of them replaced by raw bytes (name with - as _, e.g. formsE_H)."""
    shutil.rmtree(folder(project), ignore_errors=True)
    folder(project).mkdir(parents=True)
    for name in ARCHIVES:
        data = raw.get(name.removesuffix(".tgz").replace("-", "_"), tgz_bytes(members[name]))
        (folder(project) / name).write_bytes(data)


def tgz_with_link(name: str, target: str, hard: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = (tarfile.LNKTYPE if hard else tarfile.SYMTYPE), target
        tar.addfile(info)
    return buffer.getvalue()


def with_xml(members: dict, xml: bytes) -> dict:
    return {**members, "xml.tgz": {**members["xml.tgz"], f"xml/{GOOD.id}.xml": xml}}


def good_archives(members: dict) -> bytes:
    return tgz_bytes(members["formsA-D.tgz"])


BAD_ARCHIVES = {
    "truncated": (lambda m: {"formsE_H": tgz_bytes(m["formsE-H.tgz"])[:-30]}, ("formsE-H.tgz", "not a complete")),
    "empty file": (lambda m: {"formsE_H": b""}, ("formsE-H.tgz", "not a complete")),
    "not gzip": (lambda m: {"xml": b"<html>not an archive</html>"}, ("xml.tgz", "not a complete")),
    "path traversal": (lambda m: {"formsI_Z": tgz_bytes({"ok/../../e01-000.png": b"x"})},
                       ("formsI-Z.tgz", "refused unsafe member")),
    "absolute path": (lambda m: {"formsI_Z": tgz_bytes({"/etc/e01-000.png": b"x"})},
                      ("formsI-Z.tgz", "refused unsafe member")),
    "link outside": (lambda m: {"formsI_Z": tgz_with_link("forms/x.png", "../../../etc/passwd")},
                     ("formsI-Z.tgz", "refused unsafe member")),
    "absolute hard link": (lambda m: {"formsI_Z": tgz_with_link("forms/x.png", "/etc/passwd", hard=True)},
                           ("formsI-Z.tgz", "refused unsafe member")),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_convert_refuses_a_bad_archive(project, members, case):
    make, names = BAD_ARCHIVES[case]
    put_archives(project, members, **make(members))
    refused(["stages.iam_convert"], project, *names)


def test_convert_refuses_a_missing_archive(project, members):
    put_archives(project, members)
    (folder(project) / "formsE-H.tgz").unlink()
    refused(["stages.iam_convert"], project, "data/iam/archives/formsE-H.tgz", "not found")


def test_convert_refuses_a_folder_where_an_archive_should_be(project, members):
    put_archives(project, members)
    (folder(project) / "xml.tgz").unlink()
    (folder(project) / "xml.tgz").mkdir()
    refused(["stages.iam_convert"], project, "data/iam/archives/xml.tgz", "is a folder")


BAD_XML = {
    "latin-1 without declaration": GOOD.xml.replace(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n', b"")
                                           .replace(b"<handwritten-part>", "<!-- é -->".encode("latin-1") +
                                                    b"<handwritten-part>"),
    "truncated": GOOD.xml[:len(GOOD.xml) // 2],
    "wrong root": GOOD.xml.replace(b"<form ", b"<page ").replace(b"</form>", b"</page>"),
    "unknown encoding": GOOD.xml.replace(b"ISO-8859-1", b"klingon"),
    "empty": b"",
}


@pytest.mark.parametrize("case", list(BAD_XML))
def test_convert_with_no_usable_form_is_one_line(project, members, case):
    put_archives(project, with_xml(members, BAD_XML[case]))
    refused(["stages.iam_convert"], project, "no IAM form could be converted", "malformed xml")


@pytest.mark.parametrize("case", ["bad xml", "zero-byte image"])
def test_convert_counts_forms_it_skips_in_one_warning_line(project, members, case):
    second = make_form("a02-000", "001", seed=2)
    m = archive_members([GOOD, second])
    if case == "bad xml":
        m["xml.tgz"]["xml/a02-000.xml"] = second.xml[:40]
    else:
        m["formsA-D.tgz"]["a02-000.png"] = b""
    put_archives(project, m)
    result = run([sys.executable, "-m", "stages.iam_convert"], project, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in out, out[-3000:]
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    reason = "malformed xml" if case == "bad xml" else "image unreadable"
    assert len(warnings) == 1 and f"1 of 2 forms skipped (1 {reason})" in warnings[0], out[-3000:]
    put_archives(project, members)
    stage(project, "iam_convert")


@pytest.mark.parametrize("stage_name", ["iam_convert", "iam_download"])
def test_archive_names_that_are_paths_are_refused(project, members, stage_name):
    put_archives(project, members)
    write_params(project, {"iam": {"archives": ["../../../params.yaml", "xml.tgz"]}})
    try:
        refused([f"stages.{stage_name}"], project, "params.yaml: iam.archives", "'../../../params.yaml'", env=NO_ENV)
    finally:
        write_params(project, {"iam": {"archives": ARCHIVES}})


# ---------------------------------------------------------------- download

@pytest.fixture
def offline(project, members):
    """The archives folder empty of xml.tgz, so the download stage has one archive to fetch."""
    put_archives(project, members)
    (folder(project) / "xml.tgz").unlink()
    yield project
    credentials = project / ".iam-credentials"
    if credentials.is_dir():
        credentials.rmdir()
    credentials.unlink(missing_ok=True)
    write_params(project, {"iam": {"base_url": "https://fki.tic.heia-fr.ch"}})


CREDENTIALS = {
    "latin-1": ("username=é@example.org\npassword=x\n".encode("latin-1"), (".iam-credentials:1", "save it as UTF-8")),
    "no equals sign": (f"{EMAIL}\n{PASSWORD}\n".encode(), (".iam-credentials:1", "expected `username=...`")),
    "password missing": (f"username={EMAIL}\n".encode(), (".iam-credentials", "needs both")),
}


@pytest.mark.parametrize("case", list(CREDENTIALS))
def test_bad_credentials_file_is_one_line_without_the_secret(offline, case):
    content, names = CREDENTIALS[case]
    (offline / ".iam-credentials").write_bytes(content)
    line = refused(["stages.iam_download"], offline, *names, env=NO_ENV)
    assert PASSWORD not in line


def test_credentials_folder_is_no_credentials(offline):
    (offline / ".iam-credentials").mkdir()
    refused(["stages.iam_download"], offline, "xml.tgz not in data/iam/archives", "IAM_USERNAME", env=NO_ENV)


@pytest.mark.parametrize("case", ["wrong password", "html instead of archive", "not on the server"])
def test_download_refusals_from_the_site(offline, members, case):
    files = {name: tgz_bytes(m) for name, m in members.items()}
    with FakeIAMSite(files, EMAIL, PASSWORD) as site:
        if case == "html instead of archive":
            site.expired = True
        if case == "not on the server":
            del site.files["xml.tgz"]
        write_params(offline, {"iam": {"base_url": site.url}})
        names = {"wrong password": ("login failed",), "html instead of archive": ("xml.tgz", "session expired"),
                 "not on the server": ("xml.tgz", "not found at")}[case]
        password = "wrong" if case == "wrong password" else PASSWORD
        refused(["stages.iam_download"], offline, *names, env={"IAM_USERNAME": EMAIL, "IAM_PASSWORD": password})


def test_download_refuses_a_truncated_local_archive(offline, members):
    (folder(offline) / "xml.tgz").write_bytes(tgz_bytes(members["xml.tgz"])[:100])
    refused(["stages.iam_download"], offline, "xml.tgz", "not a complete gzip/tar archive", env=NO_ENV)


def test_download_refuses_a_folder_where_an_archive_should_be(offline):
    (folder(offline) / "xml.tgz").mkdir()
    refused(["stages.iam_download"], offline, "xml.tgz", "is a folder", env=NO_ENV)


def test_download_refuses_a_base_url_that_is_not_http(offline):
    write_params(offline, {"iam": {"base_url": "ftp://127.0.0.1:9"}})
    refused(["stages.iam_download"], offline, "iam.base_url", env={"IAM_USERNAME": EMAIL, "IAM_PASSWORD": PASSWORD})


def test_convert_carries_odd_form_ids_or_counts_them(project, members):
    """A form id with a comma converts to a file of that name and a groups.csv row that keeps it; one whose name
    is not UTF-8 can never match the id inside its XML, so it is skipped and counted."""
    comma, raw = make_form("a03,x", "002", seed=3), make_form("a04-000", "003", seed=4)
    raw_id = os.fsdecode(b"a04-\xff")
    m = archive_members([GOOD, comma])
    m["formsA-D.tgz"][f"{raw_id}.png"] = raw.png
    m["xml.tgz"][f"xml/{raw_id}.xml"] = raw.xml.replace(b'id="a04-000"', b'id="a04-\xff"', 1)
    put_archives(project, m)
    result = run([sys.executable, "-m", "stages.iam_convert"], project, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in out, out[-3000:]
    assert [line for line in out.splitlines() if line.startswith("warning:")] == [
        "warning: iam_convert: 1 of 3 forms skipped (1 xml id differs from file name); each is listed in "
        "data/sources/iam/summary.json"]
    folder_out = project / "data" / "sources" / "iam"
    assert {row["image"] for row in read_table(folder_out / "groups.csv")} == {f"{GOOD.id}.jpg", "a03,x.jpg"}
    assert (folder_out / "images" / "a03,x.jpg").is_file() and (folder_out / "labels" / "a03,x.txt").is_file()
    put_archives(project, members)
    stage(project, "iam_convert")
