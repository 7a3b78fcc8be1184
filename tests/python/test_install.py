"""`playbook install`: the kernelspec Jupyter finds (kernel.json is checked in conftest.py)."""

from __future__ import annotations

import struct
import subprocess

from kernel_client import playbook_bin


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_logos_installed(installed_kernelspec):
    """JupyterLab's launcher shows logo-64x64.png; the classic notebook logo-32x32.png."""
    assert png_size(installed_kernelspec / "logo-32x32.png") == (32, 32)
    assert png_size(installed_kernelspec / "logo-64x64.png") == (64, 64)
    assert (installed_kernelspec / "logo-svg.svg").read_text().lstrip().startswith(("<svg", "<?xml"))


def test_install_twice_overwrites(tmp_path):
    for _ in range(2):
        proc = subprocess.run(
            [str(playbook_bin()), "install", "--prefix", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "share" / "jupyter" / "kernels" / "playbook" / "kernel.json").is_file()
