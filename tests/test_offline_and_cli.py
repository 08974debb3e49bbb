"""No network on the index-and-ask path, and the CLI's one-line errors and JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

AUDIT = r"""
import ipaddress, socket, sys
seen = []
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
        target = args[1] if event != "socket.getaddrinfo" else args[0]
        host = target[0] if isinstance(target, tuple) else target
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host not in ("localhost", "") and not host.startswith("/"):
            try:
                if ipaddress.ip_address(host).is_loopback:
                    return
            except ValueError:
                pass
            seen.append((event, str(host)))
sys.addaudithook(hook)
from index.settings import load_settings
from index.store import build_index
from rag import Assistant
s = load_settings(data_dir=sys.argv[1])
build_index(s, force=True, progress=False)
a = Assistant.from_settings(s).ask("When was the CSTO established?")
assert "1992" in a.text
print("NONLOOPBACK", seen)
"""


def _run(args, env_extra=None, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw
    )


def test_index_and_ask_open_no_nonloopback_connection(index_copy):
    out = subprocess.run(
        [sys.executable, "-c", AUDIT, str(index_copy.data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "NONLOOPBACK []" in out.stdout


def test_ask_json_shape(built_settings):
    out = _run(
        [
            "--data-dir",
            str(built_settings.data_dir),
            "ask",
            "Who argues that the CSTO lacks a coherent ideology?",
            "--json",
        ]
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"question", "answer", "refused", "citations", "timings_ms"}
    cite = data["citations"][0]
    assert set(cite) >= {"n", "passage_id", "section", "paragraph", "quote", "text", "sources"}
    sources = [s for c in data["citations"] for s in c["sources"]]
    assert any(s["key"] == "nikitina2012" and s["pages"] == "51" for s in sources)
    assert set(sources[0]) >= {"key", "label", "authors", "year", "pages", "title", "url"}


def test_cli_bad_input_one_line_nonzero(built_settings, tmp_path):
    data = str(built_settings.data_dir)
    cases = [
        (["--data-dir", data, "ask", ""], "empty"),
        (["--data-dir", data, "ask", "x" * 20_000], "limit"),
        (["--data-dir", data, "ask", "bad\x01question"], "control"),
        (["--data-dir", str(tmp_path / "none"), "ask", "When was the CSTO established?"], "no index"),
    ]
    for args, needle in cases:
        out = _run(args)
        assert out.returncode != 0
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr
    out = _run(["--data-dir", data, "ask", "x"], env_extra={"CSTO_QA_NOPE": "1"})
    assert out.returncode == 2 and "unknown setting(s) CSTO_QA_NOPE" in out.stderr


def test_cli_corrupt_data_dir_does_not_damage_it(index_copy):
    state = index_copy.data_dir / "state.json"
    good = state.read_bytes()
    gen = index_copy.data_dir / json.loads(good)["gen_dir"] / "passages.json"
    saved = gen.read_bytes()
    gen.write_text("not json")
    out = _run(["--data-dir", str(index_copy.data_dir), "ask", "When was the CSTO established?"])
    assert out.returncode == 1 and "damaged" in out.stderr and "Traceback" not in out.stderr
    assert state.read_bytes() == good
    gen.write_bytes(saved)
    out = _run(["--data-dir", str(index_copy.data_dir), "ask", "When was the CSTO established?"])
    assert out.returncode == 0 and "1992" in out.stdout


def test_sources_citations_lists_pages(built_settings):
    out = _run(["--data-dir", str(built_settings.data_dir), "sources", "--citations"])
    assert out.returncode == 0, out.stderr
    assert "weitz2018" in out.stdout and "p. xii" in out.stdout and "Never cited in the text:" in out.stdout
