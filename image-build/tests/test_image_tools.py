"""The image's signing, verification and config-install tools, on real trees and images.

Run: .venv/bin/pytest image-build/tests   (mkfs.ext4 and debugfs from e2fsprogs; root for
the ownership checks of the ext4 round trip).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

import install_config  # noqa: E402
import manifest_lib as ml  # noqa: E402
import sign_manifest  # noqa: E402
import verify_manifest  # noqa: E402


def make_tree(root: Path) -> Path:
    (root / "etc" / "cleanroom").mkdir(parents=True)
    (root / "etc" / "cleanroom" / "rack.toml").write_text("[rack]\nid = 'r1'\n")
    (root / "usr" / "bin").mkdir(parents=True)
    tool = root / "usr" / "bin" / "tool"
    tool.write_bytes(b"\x7fELF pretend")
    tool.chmod(0o755)
    (root / "bin").symlink_to("usr/bin")
    (root / "with space").mkdir()
    (root / "with space" / "a file").write_text("x")
    (root / "lost+found").mkdir(mode=0o700)
    return root


def sign(tmp_path: Path, tree: Path, *artifacts: Path) -> Path:
    out = tmp_path / "out" / "MANIFEST"
    out.parent.mkdir(exist_ok=True)
    argv = ["sign", "--dev", "--key", str(tmp_path / "key.pem"), "--tree", str(tree)]
    argv += ["--out", str(out), "--header", "image-version=1.0+test"]
    for artifact in artifacts:
        argv += ["--artifact", str(artifact)]
    assert sign_manifest.main(argv) == 0
    return out


def test_manifest_round_trip_and_format(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    manifest = sign(tmp_path, tree)
    parsed = ml.parse(manifest.read_bytes())
    assert parsed.header == {"image-version": "1.0+test"}
    by_path = {entry.path: entry for entry in parsed.entries}
    assert by_path["/usr/bin/tool"].kind == "f"
    assert by_path["/usr/bin/tool"].mode == 0o755
    assert by_path["/bin"].kind == "l"
    assert by_path["/with space/a file"].kind == "f"
    assert ml.Manifest(parsed.header, {}, parsed.entries).render() == manifest.read_bytes()
    assert verify_manifest.verify(manifest, None, tree) == []


def test_verify_reports_every_kind_of_tampering(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    manifest = sign(tmp_path, tree)
    (tree / "etc" / "cleanroom" / "rack.toml").write_text("[rack]\nid = 'evil'\n")
    (tree / "usr" / "bin" / "tool").chmod(0o4755)
    (tree / "usr" / "bin" / "implant").write_text("x")
    (tree / "with space" / "a file").unlink()
    problems = verify_manifest.verify(manifest, None, tree)
    assert any(p.startswith("changed: /etc/cleanroom/rack.toml") for p in problems)
    assert any(p.startswith("changed: /usr/bin/tool") and "4755" in p for p in problems)
    assert "unexpected: /usr/bin/implant" in problems
    assert "missing: /with space/a file" in problems


def test_a_changed_manifest_or_foreign_key_fails_the_signature(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    manifest = sign(tmp_path, tree)
    original = manifest.read_bytes()
    manifest.write_bytes(original.replace(b"1.0+test", b"1.1+test"))
    with pytest.raises(ml.ManifestError, match="does not verify"):
        verify_manifest.verify(manifest, None, tree)
    manifest.write_bytes(original)
    other = tmp_path / "other.pem"
    ml.generate_dev_key(other)
    (tmp_path / "other.pub.pem").write_bytes(ml.public_pem(ml.load_private_key(other)))
    with pytest.raises(ml.ManifestError, match="does not verify"):
        verify_manifest.verify(manifest, tmp_path / "other.pub.pem", tree)


def test_release_signing_refuses_to_invent_a_key(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    argv = ["sign", "--key", str(tmp_path / "absent.pem"), "--tree", str(tree)]
    assert sign_manifest.main([*argv, "--out", str(tmp_path / "M")]) == 1
    assert not (tmp_path / "absent.pem").exists()


def test_artifact_digest_is_checked(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "root")
    (tmp_path / "out").mkdir()
    artifact = tmp_path / "out" / "root.ext4"
    artifact.write_bytes(b"image")
    manifest = sign(tmp_path, tree, artifact)
    assert verify_manifest.verify(manifest, None, None) == []
    artifact.write_bytes(b"imagf")
    assert verify_manifest.verify(manifest, None, None) == [f"artifact changed: {artifact}"]


def test_ext4_image_read_back_matches_including_setuid(tmp_path: Path) -> None:
    mkfs, debugfs = shutil.which("mkfs.ext4"), shutil.which("debugfs")
    if mkfs is None or debugfs is None:
        pytest.skip("mkfs.ext4/debugfs not found: apt-get install e2fsprogs")
    if os.geteuid() != 0:
        pytest.skip("needs root: debugfs rdump restores owners only as root")
    tree = make_tree(tmp_path / "root")
    os.chown(tree / "etc" / "cleanroom", 0, 999)
    (tree / "usr" / "bin" / "tool").chmod(0o4755)
    image = tmp_path / "root.ext4"
    subprocess.run([mkfs, "-q", "-F", "-d", str(tree), str(image), "8M"], check=True)
    manifest = sign(tmp_path, tree)
    with_image = [str(manifest), "--image", str(image)]
    assert verify_manifest.main(with_image) == 0
    # A setuid bit added inside the image (rdump alone would silently drop it).
    subprocess.run(
        [debugfs, "-w", "-R", "sif /usr/bin/tool mode 0106755", str(image)],
        check=True,
        capture_output=True,
    )
    assert verify_manifest.main(with_image) == 1


def test_install_config_moves_state_paths_and_keeps_comments(tmp_path: Path) -> None:
    source = tmp_path / "rack.toml"
    source.write_text(
        '# the rack\n[store]\n# where\npath = "../var/agent.db"  # relative\n'
        '[drill]\nreport_dir = "../var/drills"\n[other]\npath = "keep"\n'
    )
    dest = tmp_path / "out.toml"
    settings = ["store.path=/var/lib/cleanroom/agent.db", "drill.report_dir=/var/log/x"]
    install_config.install(source, dest, settings)
    parsed = tomllib.loads(dest.read_text())
    assert parsed["store"]["path"] == "/var/lib/cleanroom/agent.db"
    assert parsed["drill"]["report_dir"] == "/var/log/x"
    assert parsed["other"]["path"] == "keep"
    assert "# where" in dest.read_text()


def test_install_config_names_a_missing_key(tmp_path: Path) -> None:
    source = tmp_path / "rack.toml"
    source.write_text('[store]\nbackend = "sqlite"\n')
    with pytest.raises(
        install_config.InstallError, match=r"no `path = \.\.\.` line in section \[store\]"
    ):
        install_config.install(source, tmp_path / "out.toml", ["store.path=/x"])
