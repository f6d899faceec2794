"""Where a number was measured: the CPU's numeric flags are read on x86-64 and on ARM64."""

from lstm_lessons.machine import parse_cpuinfo

X86 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse4_2 avx avx2 fma f16c avx512f avx512bw avx512_bf16 sha_ni
processor\t: 1
model name\t: AMD EPYC 9B14
flags\t\t: fpu
"""

ARM = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 asimdhp asimddp sve sve2 bf16 i8mm
CPU implementer\t: 0x41
"""


def test_the_numeric_flags_of_an_x86_cpu_are_those_of_its_first_processor():
    assert parse_cpuinfo(X86) == {"model": "AMD EPYC 9B14",
                                  "flags": ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
                                            "avx512_bf16"]}


def test_an_arm_cpu_gives_its_vector_features_and_its_architecture_when_it_names_no_model():
    found = parse_cpuinfo(ARM)
    assert found["flags"] == ["asimd", "asimdhp", "asimddp", "sve", "sve2", "bf16", "i8mm"]
    assert found["model"]   # the architecture (platform.machine()) where no model name is given
