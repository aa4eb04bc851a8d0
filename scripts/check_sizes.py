#!/usr/bin/env python3
"""Checks issue 17's limits on the daemon's code: no .cc file under gateway/
over 400 lines, no function over 80 lines (a function: from a line at
column 0 that ends in '{' and is not a namespace, class, struct or enum, to
the next line that is '}' at column 0). Prints each one over and exits 1 if
any is.

  scripts/check_sizes.py [--max-file 400] [--max-function 80] [dir ...]
"""
import argparse
import pathlib
import re
import sys

NOT_FUNCTION = re.compile(r'^(namespace|class|struct|enum|union|extern|template\s*<[^>]*>\s*(class|struct))\b')


def functions(lines):
    start = None
    for i, line in enumerate(lines):
        if start is None:
            if line and not line[0].isspace() and line.rstrip().endswith('{') \
                    and not NOT_FUNCTION.match(line) and not line.startswith('#'):
                start = i
                # The signature may have started on earlier lines.
                while start > 0 and lines[start - 1] and lines[start - 1][0].isspace() is False \
                        and not lines[start - 1].rstrip().endswith((';', '}', '{')) \
                        and not lines[start - 1].startswith(('#', '//')):
                    start -= 1
        elif line.rstrip() == '}' or line.startswith('};'):
            yield start, i
            start = None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--max-file', type=int, default=400)
    p.add_argument('--max-function', type=int, default=80)
    p.add_argument('dirs', nargs='*', default=['gateway'])
    args = p.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    over = 0
    for d in args.dirs:
        for path in sorted((root / d).rglob('*.cc')):
            lines = path.read_text().splitlines()
            rel = path.relative_to(root)
            if len(lines) > args.max_file:
                print(f'{rel}: {len(lines)} lines (limit {args.max_file})')
                over += 1
            for a, b in functions(lines):
                n = b - a + 1
                if n > args.max_function:
                    print(f'{rel}:{a + 1}: function of {n} lines (limit {args.max_function}): '
                          f'{lines[a].strip()[:70]}')
                    over += 1
    if over:
        print(f'{over} over the limits', file=sys.stderr)
        return 1
    print('sizes: every file and function within the limits')
    return 0


if __name__ == '__main__':
    sys.exit(main())
