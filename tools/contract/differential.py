"""Differential check of identifier check characters (issue #20): creditgate
against python-stdnum (stdnum.cn.uscc, stdnum.cn.ric), a second, independent
implementation of GB 32100-2015 and GB 11643-1999.

For random bodies that both accept apart from the check character, every
possible check character is tried: creditgate (`creditgate id`, one per
line on stdin) must accept exactly the one stdnum computes.

    python differential.py CREDITGATE_BINARY [BODIES] [SEED]
"""

import datetime
import random
import subprocess
import sys

from stdnum.cn import ric, uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # USCC: no I, O, S, V, Z


def division(rng):
    # Any six digits not starting 00 (creditgate checks only that; stdnum's
    # RIC place table is not consulted here: the check character is).
    return f"{rng.randrange(10, 100):02d}{rng.randrange(0, 10000):04d}"


def ric_bodies(rng, n):
    start = datetime.date(1900, 1, 1).toordinal()
    end = datetime.date(2020, 12, 31).toordinal()
    for _ in range(n):
        born = datetime.date.fromordinal(rng.randrange(start, end))
        yield f"{division(rng)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"


def organization_code_check(code8):
    """GB 11714-1997's check character of an eight-character organization
    code (positions 9-16 of a credit code, whose position 17 it is): weights
    3 7 9 10 5 8 4 2, letters valued A=10 … Z=35. stdnum does not check it;
    creditgate does, so the bodies carry it."""
    value = lambda c: int(c) if c.isdigit() else ord(c) - ord("A") + 10
    total = sum(value(c) * w for c, w in zip(code8, (3, 7, 9, 10, 5, 8, 4, 2)))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_bodies(rng, n):
    made = 0
    while made < n:
        head = f"{rng.randrange(1, 10)}{rng.randrange(1, 10)}{division(rng)}"
        code = "".join(rng.choice(ALPHABET) for _ in range(8))
        check = organization_code_check(code)
        if check not in ALPHABET:
            continue
        made += 1
        yield head + code + check


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261205)
    cases = []  # (candidate, its kind, stdnum says valid)
    for body in ric_bodies(rng, n):
        want = ric.calc_check_digit(body + "0")
        cases += [(body + c, "person", c == want) for c in "0123456789X"]
    for body in uscc_bodies(rng, n):
        want = uscc.calc_check_digit(body)
        cases += [(body + c, "org", c == want) for c in ALPHABET]
    out = subprocess.run(
        [binary, "id", "-"],
        input="\n".join(c for c, _, _ in cases) + "\n",
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert len(out) == len(cases), f"{len(out)} answers for {len(cases)} identifiers"
    # A line is `ID<TAB>kind[<TAB>also<TAB>kind]` or `ID<TAB>error<TAB>why`:
    # eighteen digits may be valid as a credit code as well, so what is
    # compared is whether creditgate reads the string as the kind tried.
    disagree = [
        (c, want, line)
        for (c, kind, want), line in zip(cases, out)
        if (kind in line.split("\t")[1:]) != want
    ]
    for c, want, line in disagree[:20]:
        print(f"disagree: {c}: stdnum {'valid' if want else 'invalid'}; creditgate {line}")
    print(
        f"differential: {len(cases)} identifiers ({n} identity-number and {n} credit-code bodies, "
        f"every check character), {len(disagree)} disagreements with python-stdnum"
    )
    sys.exit(1 if disagree else 0)


if __name__ == "__main__":
    main()
