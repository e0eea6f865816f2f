"""The IAM stages, offline: download against a local fake of the site, conversion of generated forms."""
from __future__ import annotations

import csv
import hashlib
import json
import traceback
from pathlib import Path

import cv2
import pytest
import requests

from hwdetect.files.atomic import atomic_dir
from hwdetect import paths
from hwdetect.cli import UserError, cli
from hwdetect.sources.iam.convert import convert
from hwdetect.sources.iam.download import credentials, download
from hwdetect.sources.iam.forms import Skip, parse_form
from hwdetect.sources.iam.sample import ARCHIVES, archive_members, make_form, tgz_bytes, write_archives
from iam_fixtures import FakeIAMSite
from stages import iam_download

EMAIL, PASSWORD = "writer@example.org", "Pa55-zebra-quokka-7781"


@pytest.fixture(scope="module")
def forms():
    return [make_form("a01-000u", "000", seed=1), make_form("a01-003", "000", lines=3, seed=2),
            make_form("e04-030", "551", seed=3, line_without_cmp=True), make_form("r06-126", "634", lines=8, seed=4)]


@pytest.fixture(scope="module")
def files(forms):
    return {name: tgz_bytes(members) for name, members in archive_members(forms).items()}


@pytest.fixture
def site(files):
    with FakeIAMSite(dict(files), EMAIL, PASSWORD) as site:
        yield site


def get(site: FakeIAMSite, dest: Path, password: str = PASSWORD, archives: list[str] = ARCHIVES) -> dict:
    return download(site.url, archives, dest, EMAIL, password, attempts=3, backoff=0)


def no_secret(err: BaseException) -> None:
    text = str(err) + repr(err) + "".join(traceback.format_exception(err))
    assert PASSWORD not in text and EMAIL not in text


# ---------------------------------------------------------------- download
def test_a_trickling_server_is_stopped_by_the_deadline_and_the_part_kept_to_resume(site, files, tmp_path):
    site.trickle.add("xml.tgz")
    with pytest.raises(UserError, match=r"xml.tgz: download stopped after its deadline of 1.5 s .* resume from") as err:
        download(site.url, ["xml.tgz"], tmp_path, EMAIL, PASSWORD, attempts=3, backoff=0, deadline_s=1.5)
    assert "\n" not in str(err.value) and not (tmp_path / "xml.tgz").exists()
    part = (tmp_path / "xml.tgz.part").read_bytes()
    assert 0 < len(part) < len(files["xml.tgz"]) and files["xml.tgz"].startswith(part)
    site.trickle.clear()
    assert get(site, tmp_path, archives=["xml.tgz"])["archives"]["xml.tgz"]["size"] == len(files["xml.tgz"])
    assert site.downloads("xml.tgz")[-1] == f"bytes={len(part)}-", "the next run resumes where the deadline stopped"


def test_a_server_announcing_more_than_an_archive_is_refused_before_writing(site, tmp_path):
    site.huge.add("xml.tgz")
    with pytest.raises(UserError, match=r"xml.tgz: the server announces 10.0 GiB, more than any IAM archive"):
        get(site, tmp_path, archives=["xml.tgz"])
    assert not (tmp_path / "xml.tgz.part").exists() and not (tmp_path / "xml.tgz").exists()



def test_download_writes_archives_and_manifest(site, files, tmp_path):
    manifest = get(site, tmp_path)
    assert list(manifest["archives"]) == ARCHIVES
    for name in ARCHIVES:
        assert (tmp_path / name).read_bytes() == files[name]
        assert manifest["archives"][name]["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert manifest["archives"][name]["size"] == len(files[name])
    assert manifest["archives"]["xml.tgz"]["files"] == 5  # four forms and a README
    assert not list(tmp_path.glob("*.part"))
    assert ("POST", "/login", None) in site.log


def test_wrong_password_is_a_user_error_without_the_password(site, tmp_path):
    site.password = "another"
    with pytest.raises(UserError, match="login failed") as err:
        get(site, tmp_path)
    no_secret(err.value)
    assert not list(tmp_path.iterdir())


class Forgetful(set):
    def __contains__(self, token: object) -> bool:
        return False


@pytest.mark.parametrize("how", ["html", "redirect"])
def test_expired_session_saves_nothing(site, tmp_path, how):
    if how == "html":
        site.expired = True  # the site serves its login page instead of the archive
    else:
        site.sessions = Forgetful()  # the login sets a cookie, but the data URLs answer 302 to /login
    with pytest.raises(UserError, match="login failed or session expired") as err:
        get(site, tmp_path)
    no_secret(err.value)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tgz" or p.stat().st_size]


def test_cut_download_resumes_to_an_identical_file(site, files, tmp_path):
    site.cut_once.add("formsA-D.tgz")
    get(site, tmp_path)
    assert (tmp_path / "formsA-D.tgz").read_bytes() == files["formsA-D.tgz"]
    ranges = site.downloads("formsA-D.tgz")
    assert ranges[0] is None and ranges[1] == f"bytes={len(files['formsA-D.tgz']) // 2}-"


def test_server_ignoring_range_restarts_cleanly(site, files, tmp_path):
    site.cut_once.add("xml.tgz")
    site.ignore_range = True
    get(site, tmp_path)
    assert (tmp_path / "xml.tgz").read_bytes() == files["xml.tgz"]


def test_a_500_is_retried(site, files, tmp_path):
    site.fail_once.add("formsE-H.tgz")
    get(site, tmp_path)
    assert len(site.downloads("formsE-H.tgz")) == 2
    assert (tmp_path / "formsE-H.tgz").read_bytes() == files["formsE-H.tgz"]


@pytest.mark.parametrize("bad, message", [
    (lambda good: good[: len(good) * 2 // 3], "not a complete gzip/tar archive"),
    (lambda good: b"PK\x03\x04 a zip file", "not a gzip archive"),
    (lambda good: tgz_bytes({"xml/../../evil.xml": b"<x/>"}), "refused unsafe member '.*evil.xml'"),
    (lambda good: tgz_bytes({"/etc/evil.xml": b"<x/>"}), "refused unsafe member"),
])
def test_bad_archive_from_the_server_is_refused(site, tmp_path, bad, message):
    site.files["xml.tgz"] = bad(site.files["xml.tgz"])
    with pytest.raises(UserError, match=message) as err:
        get(site, tmp_path)
    assert "xml.tgz" in str(err.value)
    assert not (tmp_path / "xml.tgz").exists() and not (tmp_path / "xml.tgz.part").exists()


class NoNetwork(requests.Session):
    def request(self, *args, **kwargs):
        raise AssertionError("the network was used")


def test_local_archives_are_used_without_network(files, tmp_path):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    manifest = download("http://127.0.0.1:9", ARCHIVES, tmp_path, None, None, session=NoNetwork())
    assert manifest["archives"]["formsI-Z.tgz"]["sha256"] == hashlib.sha256(files["formsI-Z.tgz"]).hexdigest()


def test_truncated_local_archive_is_named(files, tmp_path):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data[:100] if name == "formsE-H.tgz" else data)
    with pytest.raises(UserError, match=r"formsE-H.tgz: not a complete gzip/tar archive .*delete it"):
        download("http://127.0.0.1:9", ARCHIVES, tmp_path, None, None, session=NoNetwork())


def test_missing_credentials_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("IAM_USERNAME", raising=False)
    monkeypatch.delenv("IAM_PASSWORD", raising=False)
    assert credentials(tmp_path / "absent") == (None, None)
    with pytest.raises(UserError) as err:
        download("http://127.0.0.1:9", ARCHIVES, tmp_path, None, None, session=NoNetwork())
    text = str(err.value)
    assert "\n" not in text and "IAM_USERNAME" in text and "https://fki.tic.heia-fr.ch/register" in text
    with pytest.raises(UserError, match="iam.base_url: expected an http"):
        download("fki.tic.heia-fr.ch", ARCHIVES, tmp_path, EMAIL, PASSWORD, session=NoNetwork())


def test_credentials_from_env_or_file(tmp_path, monkeypatch):
    file = tmp_path / ".iam-credentials"
    file.write_text(f"username = {EMAIL}\npassword={PASSWORD}\n")
    monkeypatch.delenv("IAM_USERNAME", raising=False)
    monkeypatch.delenv("IAM_PASSWORD", raising=False)
    assert credentials(file) == (EMAIL, PASSWORD)
    monkeypatch.setenv("IAM_USERNAME", "env@example.org")
    with pytest.raises(UserError, match="IAM_PASSWORD is not set"):
        credentials(file)
    monkeypatch.setenv("IAM_PASSWORD", "env-secret")
    assert credentials(file) == ("env@example.org", "env-secret")
    monkeypatch.delenv("IAM_USERNAME")
    monkeypatch.delenv("IAM_PASSWORD")
    file.write_text(f"{EMAIL}\n{PASSWORD}\n")
    with pytest.raises(UserError, match=r"\.iam-credentials:1: expected `username=...`") as err:
        credentials(file)
    no_secret(err.value)


def test_stage_error_output_never_shows_the_password(site, tmp_path, monkeypatch, capsys):
    site.password = "another"
    monkeypatch.setattr("hwdetect.config.params.load", lambda: {"iam": {
        "base_url": site.url, "archives": ARCHIVES, "archives_dir": str(tmp_path)}})
    monkeypatch.setattr(paths, "IAM_MANIFEST", tmp_path / "manifest.json")
    monkeypatch.setattr("sys.argv", ["iam_download"])
    monkeypatch.setenv("IAM_USERNAME", EMAIL)
    monkeypatch.setenv("IAM_PASSWORD", PASSWORD)
    with pytest.raises(SystemExit) as exit_:
        cli(iam_download.main)
    out = capsys.readouterr()
    assert exit_.value.code == 2 and out.err.startswith("error: login failed") and out.err.count("\n") == 1
    assert PASSWORD not in out.err + out.out and not (tmp_path / "manifest.json").exists()


# ---------------------------------------------------------------- conversion

def labels(path: Path) -> list[list[float]]:
    return [[float(v) for v in row.split()[1:]] for row in path.read_text().splitlines()]


def test_parse_form_reads_the_real_schema():
    form = make_form("a01-000u", "000", seed=1, line_without_cmp=True)
    parsed = parse_form(form.xml, "a01-000u")
    assert (parsed.writer, parsed.width, parsed.height) == ("000", form.width, form.height)
    assert [line.box for line in parsed.lines] == form.boxes
    assert [line.text for line in parsed.lines] == form.texts
    assert any('"no" &' in text for text in form.texts)  # written as &quot;no&quot; &amp; in the XML
    assert b"&quot;" in form.xml and b"&amp;" in form.xml
    assert parsed.words_without_cmp == 2 and parsed.lines_without_cmp == ["a01-000u-05"]


def test_convert_writes_the_source_contract(forms, tmp_path):
    archives = write_archives(tmp_path / "archives", forms)
    summary = convert(archives, tmp_path / "iam", downscale=1, workers=2)
    out = tmp_path / "iam"
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(f"{f.id}.jpg" for f in forms)
    rows = list(csv.DictReader((out / "groups.csv").open()))
    assert rows == [{"image": f"{f.id}.jpg", "group": f.writer} for f in sorted(forms, key=lambda f: f.id)]
    for form in forms:
        image = cv2.imread(str(out / "images" / f"{form.id}.jpg"), cv2.IMREAD_UNCHANGED)
        assert image.ndim == 2 and image.shape[1] == form.width
        cut = image.shape[0]
        assert max(b[3] for b in form.boxes) <= cut <= form.rule_y  # footer (rule, "Name:", signature) is gone
        assert form.rule_y - cut <= 10
        for (cx, cy, w, h), (x0, y0, x1, y1) in zip(labels(out / "labels" / f"{form.id}.txt"), form.boxes):
            assert (cx, cy, w, h) == pytest.approx(((x0 + x1) / 2 / form.width, (y0 + y1) / 2 / cut,
                                                   (x1 - x0) / form.width, (y1 - y0) / cut), abs=1e-6)
    assert summary["forms"] == {"converted": 4, "skipped": 0, "writers": 3, "skipped_by_reason": {}}
    assert summary["lines"] == {"converted": sum(len(f.boxes) for f in forms), "skipped_without_cmp": 1}
    assert summary["lines_without_cmp"] == ["e04-030-05"] and summary["words_without_cmp"] == 5
    assert summary["footer"]["cropped_at_third_rule"] == 4
    assert json.loads((out / "summary.json").read_text()) == summary


def test_full_size_form_downscaled_and_missing_rule_falls_back(tmp_path):
    full = make_form("b02-010", "101", width=2479, seed=5)
    no_rule = make_form("c03-007", "102", seed=6, rule=False)
    summary = convert(write_archives(tmp_path / "archives", [full, no_rule]), tmp_path / "iam", downscale=0.25)
    image = cv2.imread(str(tmp_path / "iam" / "images" / "b02-010.jpg"), cv2.IMREAD_UNCHANGED)
    assert image.shape[1] == 620 and abs(image.shape[0] - full.rule_y / 4) <= 4
    first = labels(tmp_path / "iam" / "labels" / "b02-010.txt")[0]
    assert first[0] == pytest.approx((full.boxes[0][0] + full.boxes[0][2]) / 2 / 2479, abs=1e-6)
    assert summary["footer"] == {**summary["footer"], "cropped_at_third_rule": 1, "cropped_below_last_line": 1}
    fallback = cv2.imread(str(tmp_path / "iam" / "images" / "c03-007.jpg"), cv2.IMREAD_UNCHANGED)
    assert abs(fallback.shape[0] / 0.25 - max(b[3] for b in no_rule.boxes)) < 0.02 * no_rule.height


def test_bad_forms_are_skipped_with_their_reason(tmp_path):
    good = make_form("a01-000u", "000", seed=1)

    def bad(form_id: str, edit=lambda x: x, **kwargs):
        form = make_form(form_id, "007", seed=int(form_id[1:3]), **kwargs)
        form.xml = edit(form.xml.decode("latin-1")).encode("latin-1")
        return form

    forms = [good,
             bad("a02-000", lambda x: x.replace("</form>", "")),
             bad("a03-000", lambda x: x.replace(f'height="{good.height}"', f'height="{good.height + 8}"')),
             bad("a04-000", lambda x: x.replace('<cmp x="', '<cmp x="3000', 1)),
             bad("a05-000", lambda x: x[:x.index("<line ")] + x[x.index("</handwritten-part>"):]),
             bad("a06-000", lambda x: x.replace('id="a06-000-01"', 'id="a06-000-00"')),
             bad("a07-000", lambda x: x.replace('id="a07-000"', 'id="a07-999"')),
             bad("a08-000", lambda x: x.replace("<cmp ", "<nocmp ")),
             bad("a09-000", lambda x: x.replace('writer-id="007"', 'writer-id="0,7"'))]
    members = archive_members(forms)
    members["formsE-H.tgz"]["formsE-H/a01-000u.png"] = good.png          # the same form twice
    members["formsI-Z.tgz"]["data/forms/I-Z/z09-999.png"] = good.png     # image without XML
    members["xml.tgz"]["xml/z08-888.xml"] = good.xml                     # XML without image
    members["formsA-D.tgz"]["b01-000.png"] = b"\x89PNG broken"
    members["xml.tgz"]["xml/b01-000.xml"] = good.xml.replace(b'id="a01-000u"', b'id="b01-000"', 1)
    folder = tmp_path / "archives"
    folder.mkdir()
    for name, content in members.items():
        (folder / name).write_bytes(tgz_bytes(content))
    forms.append(make_form("c01-000", "008", seed=9))  # a good form in a second pair of archives
    extra = archive_members(forms[-1:])
    (folder / "more.tgz").write_bytes(tgz_bytes({**extra["formsA-D.tgz"], **extra["xml.tgz"]}))
    summary = convert([folder / n for n in [*ARCHIVES, "more.tgz"]], tmp_path / "iam", downscale=0.5, workers=2)
    assert summary["forms"]["skipped_by_reason"] == {
        "duplicate form id": 1, "duplicate id": 1, "empty handwritten part": 1, "image size differs from xml": 1,
        "image unreadable": 1, "image without xml": 1, "line box outside the image": 1, "malformed xml": 2,
        "no line with a cmp box": 1, "xml id differs from file name": 1, "xml without image": 1}
    assert summary["skipped_forms"]["a01-000u"].startswith("duplicate form id: a01-000u.png in ")
    assert "line " in summary["skipped_forms"]["a02-000"]  # the parser's position
    assert sorted(p.stem for p in (tmp_path / "iam" / "images").iterdir()) == ["c01-000"]
    assert sorted(p.stem for p in (tmp_path / "iam" / "labels").iterdir()) == ["c01-000"]


def test_convert_refuses_unsafe_or_corrupt_or_missing_archives(forms, tmp_path):
    archives = write_archives(tmp_path / "archives", forms[:1])
    with atomic_dir(tmp_path / "iam") as previous:  # an earlier output, which every failure below must keep
        (previous / "kept.txt").write_text("previous output")
    archives[1].write_bytes(tgz_bytes({"ok/../../e01-000.png": b"x"}))
    with pytest.raises(UserError, match="formsE-H.tgz: refused unsafe member"):
        convert(archives, tmp_path / "iam")
    archives[1].write_bytes(archives[2].read_bytes()[:-30])
    with pytest.raises(UserError, match="formsE-H.tgz: not a complete gzip/tar archive"):
        convert(archives, tmp_path / "iam")
    archives[1].unlink()
    with pytest.raises(UserError, match=r"formsE-H.tgz: not found; run `dvc repro -f iam_download`"):
        convert(archives, tmp_path / "iam")
    with pytest.raises(UserError, match=r"iam.downscale: expected a number in \(0, 1\]"):
        convert(archives, tmp_path / "iam", downscale=2)
    assert (tmp_path / "iam" / "kept.txt").exists() and not (tmp_path / ".iam.tmp").exists()


def test_skip_carries_reason():
    with pytest.raises(Skip) as err:
        parse_form(b"<form id='x'", "x")
    assert err.value.reason == "malformed xml" and "line 1" in err.value.detail
