#!/usr/bin/python3
"""all_report.py: the tables of bench/all.sh, from what it measured.

  all_report.py META RESULTS BUILDS HEADER [README]

META: one line per measure, tab-separated: id, kind ("time": seconds,
lower is better; "rate": IOPS, higher is better), what is measured, the
reference, the goal (ratio to the reference; may be empty), the
comparison (a ceiling, or a plain FUSE passthrough, measured in the same
runs as who "ceiling"; may be empty).
RESULTS: one line per measurement: id, who ("ref", "ceiling" or a build's
name), run number, value (or "fail").
BUILDS: the builds' names, space-separated, in the order measured
("after" alone, or "before after").
HEADER: the line that says where and when it was measured.

Prints, for every measure, min / median / max of the runs for the
reference and each build, the ratio to the reference of the same run
(reference time / xvafs time, or xvafs IOPS / reference IOPS: above 1
means faster than the reference), the comparison's ratio to the
reference the same way and, with two builds, after against before in the same
run. With README, replaces what lies between the
lines "<!-- bench:begin -->" and "<!-- bench:end -->" there by the table of
the last build."""
import os
import re
import statistics
import sys

BEGIN = '<!-- bench:begin -->'
END = '<!-- bench:end -->'


def read_tsv(path):
    with open(path) as f:
        return [line.rstrip('\n').split('\t') for line in f if line.strip()]


def fmt_value(v, kind):
    if kind == 'rate':
        return f'{v:,.0f}'
    return f'{v:.3f}' if v < 0.1 else f'{v:.2f}'


def spread(values, show):
    """'min / median / max' of values (one figure when all runs are one)."""
    if not values:
        return 'n/a'
    if len(values) == 1:
        return show(values[0])
    return ' / '.join(show(v) for v in
                      (min(values), statistics.median(values), max(values)))


def fmt_ratio(r):
    return f'{r:.2f}'


class Measure:
    def __init__(self, row):
        (self.id, self.kind, self.what, self.ref, self.goal,
         self.ceiling) = (row + [''] * 6)[:6]
        self.runs = {}  # who -> {run: value or None}

    def values(self, who):
        return [v for v in self.runs.get(who, {}).values() if v is not None]

    def failed(self, who):
        return sum(1 for v in self.runs.get(who, {}).values() if v is None)

    def ratios(self, num, den):
        """Per run, how much faster num's side is than den's side."""
        out = []
        a, b = self.runs.get(num, {}), self.runs.get(den, {})
        for run in sorted(set(a) & set(b)):
            x, y = a[run], b[run]
            if x is None or y is None or x == 0 or y == 0:
                continue
            out.append(y / x if self.kind == 'time' else x / y)
        return out

    def shown(self, who):
        unit = ' s' if self.kind == 'time' else ' IOPS'
        text = spread(self.values(who), lambda v: fmt_value(v, self.kind))
        if text != 'n/a':
            text += unit
        if self.failed(who):
            text += f' ({self.failed(who)} failed)'
        return text

    def has_ref(self):
        return 'ref' in self.runs

    def ratio_to_ref(self, who):
        if not self.has_ref():
            return ''
        return spread(self.ratios(who, 'ref'), fmt_ratio)

    def ceiling_shown(self):
        """The comparison, its value and its ratio to the reference."""
        if not self.ceiling or 'ceiling' not in self.runs:
            return ''
        return (f'{self.ceiling} {self.shown("ceiling")}; ratio '
                f'{self.ratio_to_ref("ceiling")}')


def load(meta_path, results_path):
    measures = [Measure(row) for row in read_tsv(meta_path)]
    by_id = {m.id: m for m in measures}
    for row in read_tsv(results_path):
        ident, who, run, value = row[:4]
        m = by_id.get(ident)
        if m is None:
            continue
        m.runs.setdefault(who, {})[int(run)] = None if value == 'fail' else float(value)
    return [m for m in measures if m.runs]


def md_row(cells):
    return '| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |'


def comparison(measures, builds):
    """The console table: the reference, every build, the ratios."""
    head = ['measure', 'reference, same run']
    for b in builds:
        head += [b, f'ratio ({b})']
    if len(builds) == 2:
        head.append(f'{builds[1]} vs {builds[0]}')
    head += ['goal', 'comparison, same run']
    lines = [md_row(head), md_row(['---'] * len(head))]
    for m in measures:
        cells = [m.what, (m.ref + ' ' + m.shown('ref')) if m.has_ref() else '']
        for b in builds:
            cells += [m.shown(b), m.ratio_to_ref(b)]
        if len(builds) == 2:
            cells.append(spread(m.ratios(builds[1], builds[0]), fmt_ratio))
        cells += [m.goal, m.ceiling_shown()]
        lines.append(md_row(cells))
    return lines


def readme_table(measures, build, header):
    lines = [header, '',
             md_row(['What', 'xvafs', 'Reference, same run', 'Ratio',
                     'Comparison, same run']),
             md_row(['---'] * 5)]
    for m in measures:
        ref = (m.ref + ' ' + m.shown('ref')) if m.has_ref() else ''
        lines.append(md_row([m.what, m.shown(build), ref,
                             m.ratio_to_ref(build), m.ceiling_shown()]))
    return lines


def update_readme(path, lines):
    with open(path) as f:
        text = f.read()
    pattern = re.compile(re.escape(BEGIN) + r'\n.*?' + re.escape(END), re.S)
    if len(pattern.findall(text)) != 1:
        sys.exit(f'all_report: {path} must hold exactly one {BEGIN} ... {END} block')
    block = BEGIN + '\n' + '\n'.join(lines) + '\n' + END
    with open(path + '.tmp', 'w') as f:
        f.write(pattern.sub(lambda _: block, text))
    os.replace(path + '.tmp', path)


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    meta, results, builds, header = sys.argv[1:5]
    builds = builds.split()
    measures = load(meta, results)
    print('ratio: reference time / xvafs time (IOPS: xvafs / reference), per run, then min / median / max;')
    print('comparison: a ceiling or a plain FUSE passthrough measured in the same runs (bench/all.sh says how), its ratio the same way;')
    print('above 1 is faster than the reference' +
          (f'; "{builds[1]} vs {builds[0]}": {builds[0]} time / {builds[1]} time in the same run'
           if len(builds) == 2 else '') + '.')
    print()
    print('\n'.join(comparison(measures, builds)))
    table = readme_table(measures, builds[-1], header)
    print()
    print('README table (' + builds[-1] + '):')
    print()
    print('\n'.join(table))
    if len(sys.argv) == 6:
        update_readme(sys.argv[5], table)
        print()
        print(f'updated {sys.argv[5]}')


main()
