"""What a result was measured on: CPU, cores, kernel, compiler, libraries, CORING_*.

Collected once when the benchmarks run and stored in the result folder's run.json, so a
report regenerated later (or elsewhere) still describes the machine that measured it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess


def _run(cmd: list[str], cwd: str | None = None) -> str:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


def cores() -> dict:
    info = {"available": _run(["nproc"]) or str(len(os.sched_getaffinity(0))),
            "online": str(os.cpu_count())}
    try:  # a cgroup v2 CPU quota limits a process below its affinity mask
        with open("/sys/fs/cgroup/cpu.max", encoding="utf-8") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            info["cgroup_quota"] = f"{int(quota) / int(period):.2f} CPUs"
    except (OSError, ValueError):
        pass
    return info


def memory() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / (1024 * 1024):.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def read_cmake_cache(build_dir: str) -> dict[str, str]:
    """NAME:TYPE=VALUE lines of build_dir/CMakeCache.txt as {NAME: VALUE}."""
    cache: dict[str, str] = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith(("#", "//")) or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                cache[key.split(":", 1)[0]] = value
    except OSError:
        pass
    return cache


def compiler(build_dir: str) -> dict:
    cache = read_cmake_cache(build_dir)
    cxx = cache.get("CMAKE_CXX_COMPILER", "")
    build_type = cache.get("CMAKE_BUILD_TYPE", "")
    flags = " ".join(f for f in (cache.get("CMAKE_CXX_FLAGS", ""),
                                 cache.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", ""))
                     if f.strip())
    version_out = _run([cxx, "--version"]) if cxx else ""
    version = version_out.splitlines()[0] if version_out else ""
    return {"path": cxx or "unknown (no CMakeCache.txt)", "version": version,
            "build_type": build_type, "flags": flags,
            "bench_codegen_flags": bench_codegen_flags(build_dir)}


def bench_codegen_flags(build_dir: str) -> str:
    """The flags that shape code generation on a bench/ compile line (compile_commands.json):
    what the project adds to CMAKE_CXX_FLAGS_<TYPE> shows here (-march, -flto, ...)."""
    try:
        with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
            commands = json.load(f)
    except (OSError, ValueError):
        return ""
    for entry in commands:
        if "/bench/" not in entry.get("file", ""):
            continue
        args = entry.get("arguments") or shlex.split(entry.get("command", ""))
        keep = [a for a in args[1:] if a.startswith(("-O", "-m", "-std=", "-g", "-flto",
                                                      "-fno-", "-DNDEBUG", "-stdlib"))
                or (a.startswith("-f") and not a.startswith("-fdiagnostics"))]
        return " ".join(dict.fromkeys(keep))
    return ""


def packages(names=("liburing-dev", "libtbb-dev", "libbenchmark-dev")) -> dict[str, str]:
    found = {}
    for name in names:
        found[name] = _run(["dpkg-query", "-W", "-f=${Version}", name]) or "not installed"
    return found


def git_state(source_dir: str) -> str:
    commit = _run(["git", "rev-parse", "--short=12", "HEAD"], cwd=source_dir)
    if not commit:
        return "unknown"
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source_dir)
    return commit + (" (with uncommitted changes)" if dirty else "")


def coring_env() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("CORING_")}


def describe(build_dir: str, source_dir: str) -> dict:
    return {
        "cpu": cpu_model(),
        "cores": cores(),
        "memory": memory(),
        "kernel": os.uname().release,
        "compiler": compiler(build_dir),
        "packages": packages(),
        "git": git_state(source_dir),
        "coring_env": coring_env(),
    }
