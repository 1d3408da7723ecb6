"""The real-model tier's launcher decides from ``/proc/cpuinfo`` whether llama.cpp may repack
weights (AMX traps on some virtual machines); these are its pure parts, run by ``make test``
(the tier itself needs llama-cpp-python and runs only under ``make test-real-llm``)."""

from __future__ import annotations

from tests.real_llm.launch_llama_server import cpu_amx_flags, repacking_wanted

CPUINFO_WITH_AMX = """processor\t: 0
flags\t\t: fpu sse2 avx2 avx512f amx_bf16 avx512_fp16 amx_tile amx_int8
bugs\t\t: spectre_v1

processor\t: 1
flags\t\t: fpu sse2 avx2 avx512f amx_bf16 avx512_fp16 amx_tile amx_int8
"""
CPUINFO_WITHOUT_AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"


def test_amx_flags_are_read_from_the_flags_lines_only() -> None:
    assert cpu_amx_flags(CPUINFO_WITH_AMX) == ["amx_bf16", "amx_int8", "amx_tile"]
    assert cpu_amx_flags(CPUINFO_WITHOUT_AMX) == []
    assert cpu_amx_flags("model name\t: amx-looking name\n") == []


def test_auto_turns_repacking_off_where_the_cpu_reports_amx() -> None:
    repack, why = repacking_wanted("auto", CPUINFO_WITH_AMX)
    assert repack is False and "amx_bf16,amx_int8,amx_tile" in why
    assert repacking_wanted("auto", CPUINFO_WITHOUT_AMX) == (True, "the CPU reports no AMX")
    assert repacking_wanted("auto", None) == (True, "no /proc/cpuinfo")


def test_an_explicit_repack_choice_wins_over_detection() -> None:
    assert repacking_wanted("on", CPUINFO_WITH_AMX) == (True, "--repack on")
    assert repacking_wanted("off", CPUINFO_WITHOUT_AMX) == (False, "--repack off")
